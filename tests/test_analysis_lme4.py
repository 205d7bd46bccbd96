"""The mixed model against R's lme4 ``glmer`` (the reference implementation) on simulated
studies with known truth: fixed effects, random-effect SDs and standard errors, for both
the joint mode (``nAGQ=0``) and the Laplace fit (``nAGQ=1``).

R is a real part: without ``Rscript`` and lme4 the test skips on a developer's machine and
fails under ``OVERSIGHT_REQUIRE_ALL=1`` (CI installs ``r-cran-lme4``)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy.special import expit

from oversight_ext.analysis import MixedConfig, fit_mixed
from tests.conftest import missing

#: name -> (raters, items, judgments per item, sd_rater, sd_item, effect): a small crossed
#: design, one with large item variation, one where raters barely differ.
CASES = {
    "crossed": (30, 60, 4, 0.7, 1.0, 0.5),
    "items-vary": (40, 80, 3, 0.4, 1.6, 0.8),
    "raters-alike": (25, 70, 4, 0.05, 0.8, -0.4),
}

_R = r"""
suppressMessages(library(lme4))
args <- commandArgs(trailingOnly = TRUE)
out <- list()
for (path in args) {
  d <- read.csv(path)
  d$condition <- relevel(factor(d$condition), ref = "unassisted")
  for (q in c(0, 1)) {
    m <- glmer(correct ~ condition + (1 | rater) + (1 | item_id), data = d, family = binomial, nAGQ = q)
    vc <- as.data.frame(VarCorr(m))
    out[[paste(basename(path), q)]] <- list(
      fixed = unname(fixef(m)), se = unname(sqrt(diag(as.matrix(vcov(m))))),
      sd_rater = vc$sdcor[vc$grp == "rater"], sd_item = vc$sdcor[vc$grp == "item_id"],
      loglik = as.numeric(logLik(m)))
  }
}
row <- function(o) sprintf('{"fixed": [%s], "se": [%s], "sd_rater": %.10f, "sd_item": %.10f, "loglik": %.10f}',
  paste(sprintf("%.10f", o$fixed), collapse = ","), paste(sprintf("%.10f", o$se), collapse = ","), o$sd_rater, o$sd_item, o$loglik)
cat("{", paste(sprintf('"%s": %s', names(out), sapply(out, row)), collapse = ", "), "}")
"""


def simulate(seed: int, n_raters: int, n_items: int, per_item: int, sd_rater: float, sd_item: float, effect: float) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    rater = np.argsort(rng.random((n_items, n_raters)), axis=1)[:, :per_item].ravel()
    item = np.repeat(np.arange(n_items), per_item)
    assisted = np.tile(np.arange(per_item) % 2, n_items)
    eta = 0.4 + effect * assisted + rng.normal(0, sd_rater, n_raters)[rater] + rng.normal(0, sd_item, n_items)[item]
    return pl.DataFrame(
        {
            "rater": [f"r{r:03d}" for r in rater],
            "item_id": [f"i{i:04d}" for i in item],
            "condition": np.where(assisted == 1, "assisted", "unassisted"),
            "correct": (rng.random(item.size) < expit(eta)).astype(np.int64),
        }
    )


def lme4(paths: list[Path]) -> dict[str, dict]:
    rscript = shutil.which("Rscript")
    if rscript is None:
        missing("Rscript not found: apt-get install r-cran-lme4 (R's lme4 is the mixed model's reference)")
    probe = subprocess.run([rscript, "-e", "library(lme4)"], capture_output=True, text=True)
    if probe.returncode != 0:
        missing("R has no lme4: apt-get install r-cran-lme4")
    done = subprocess.run([rscript, "-e", _R, *map(str, paths)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.slow
def test_fixed_effects_sds_and_errors_equal_lme4_glmer(tmp_path: Path) -> None:
    frames = {name: simulate(k, *case) for k, (name, case) in enumerate(CASES.items())}
    paths = []
    for name, f in frames.items():
        paths.append(tmp_path / f"{name}.csv")
        f.write_csv(paths[-1])
    ref = lme4(paths)
    diffs = {"fixed": 0.0, "sd": 0.0, "se_rel": 0.0}
    for name, f in frames.items():
        truth = CASES[name]
        for q, method in ((0, "joint"), (1, "laplace")):
            r = ref[f"{name}.csv {q}"]
            ours = fit_mixed(f, MixedConfig(method=method, control="unassisted"))
            fixed = ours.filter(pl.col("kind") == "fixed")
            sds = dict(ours.filter(pl.col("kind") == "sd").select("term", "estimate").iter_rows())
            assert ours["converged"].all()
            # Never a worse optimum than lme4's (lme4 stops a little early on the Laplace fit).
            assert ours["log_lik"][0] >= r["loglik"] - 1e-4, (name, method)
            diffs["fixed"] = max(diffs["fixed"], float(np.max(np.abs(fixed["estimate"].to_numpy() - r["fixed"]))))
            diffs["sd"] = max(diffs["sd"], abs(sds["sd(rater)"] - r["sd_rater"]), abs(sds["sd(item_id)"] - r["sd_item"]))
            diffs["se_rel"] = max(diffs["se_rel"], float(np.max(np.abs(fixed["std_err"].to_numpy() / r["se"] - 1))))
            print(
                f"{name} {method}: effect {fixed['estimate'][1]:.4f} (lme4 {r['fixed'][1]:.4f}, truth {truth[5]}),"
                f" sd(rater) {sds['sd(rater)']:.4f} (lme4 {r['sd_rater']:.4f}, truth {truth[3]}),"
                f" sd(item) {sds['sd(item_id)']:.4f} (lme4 {r['sd_item']:.4f}, truth {truth[4]})"
            )
    print(
        f"max abs diff vs lme4: fixed effects {diffs['fixed']:.2e}, random-effect SDs {diffs['sd']:.2e};"
        f" max relative diff of standard errors {diffs['se_rel']:.2e}"
    )
    assert diffs["fixed"] < 5e-3 and diffs["sd"] < 5e-3 and diffs["se_rel"] < 0.03


@pytest.mark.parametrize("method", ["joint", "laplace"])
def test_a_search_that_cannot_converge_says_so(method: str) -> None:
    # The search is cut off after one objective evaluation, so the answer is far from the optimum
    # (a Newton step of about 1.4 log units left, against grad_tol 1e-4). An impossible grad_tol on a
    # full search is no such test: at the optimum the central differences can cancel exactly, and
    # with numpy 2.4 / scipy 1.17 the joint fit's step there is 0.0.
    f = simulate(5, 20, 40, 3, 0.5, 0.8, 0.5)
    with pytest.warns(UserWarning, match="did not converge"):
        out = fit_mixed(f, MixedConfig(method=method, max_evals=1))
    assert not out["converged"].any() and out["note"].str.contains("did not converge").all()
    assert (out["max_step"] > 100 * MixedConfig().grad_tol).all()
