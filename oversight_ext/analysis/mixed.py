"""Mixed-effects logistic regression with crossed rater and item random effects.

``logit P(correct) = X beta + u[rater] + v[item]``, ``u ~ N(0, sd_rater^2)``,
``v ~ N(0, sd_item^2)``, fitted by the Laplace approximation to the marginal likelihood,
in lme4's two forms: ``method="joint"`` (lme4 ``glmer(nAGQ=0)``: the fixed effects sit at
the joint mode with the random effects, only the SDs are optimised) and
``method="laplace"`` (``nAGQ=1``: fixed effects and SDs both optimised on the Laplace
objective). Why Laplace and not PQL: PQL's working-response linearisation biases variance
components low for binary outcomes (Breslow and Clayton 1993), and verdicts are binary.

What makes it fast is structure, not approximation: the Hessian of the penalised
likelihood has one diagonal block per item (items cross raters, and each item's own effect
only meets itself), so Newton steps eliminate the largest grouping factor exactly and
factor only the Schur complement over the fixed effects and the smaller factor (a few
hundred raters), whatever the number of judgments.

Why a derivative-free outer search: the objective is known only through an inner Newton
solve, and finite-difference gradients of it (step ~1e-8 over a solve accurate to ~1e-7)
are noise; a quasi-Newton search on them stopped after five iterations and called that
success. Nelder-Mead needs only values, and each value here is exact to rounding: the inner
solve always ends with a full Newton step taken after its decrement fell below ``tol``
(quadratic convergence squares the remaining error). Convergence is then checked, not
assumed: a central-difference gradient with a step (1e-4) far above the objective's noise
must be below ``grad_tol`` in every free direction; the search restarts once from its best
point when it is not, and a fit that still fails says so (``converged`` false, a ``note``
and a :class:`MixedConvergenceWarning`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl
from scipy import linalg, optimize, sparse, stats
from scipy.special import expit
from threadpoolctl import threadpool_limits

from oversight_ext.options import option

from .effects import default_control
from .qc import drops_qc

__all__ = ["MixedConfig", "MixedConvergenceWarning", "fit_mixed"]

#: Bounds of the log standard deviations searched; the lower one stands for "no variation".
_LOG_SD_BOUNDS = (-9.0, 3.0)


class MixedConvergenceWarning(UserWarning):
    """The mixed model's optimiser did not reach a point with a small gradient."""


@dataclass(frozen=True)
class MixedConfig:
    """What :func:`fit_mixed` fits and how."""

    outcome: str = option("0/1 (or boolean) column to model; null rows are left out", "correct")
    fixed: tuple[str, ...] = option("fixed-effect columns: text columns become treatment dummies, numeric ones enter as is", ("condition",))
    groups: tuple[str, ...] = option("columns whose levels get random intercepts", ("rater", "item_id"))
    control: str | None = option("reference level of 'condition' (default: the first unassisted one)", None)
    level: float = option("coverage of the Wald intervals", 0.95)
    method: Literal["joint", "laplace"] = option(
        "'joint': fixed effects at the joint mode (lme4 nAGQ=0); 'laplace': fixed effects on the Laplace objective (nAGQ=1)", "joint"
    )
    tol: float = option("inner Newton stops after one more full step once a step would gain less than this", 1e-8)
    max_newton: int = option("most Newton iterations per inner solve", 50)
    grad_tol: float = option("converged when a Newton step from the answer (H^-1 g, in log-SD and log-odds units) is smaller", 1e-4)
    max_evals: int = option("most objective evaluations per optimiser run", 2000)


def _design(frame: pl.DataFrame, config: MixedConfig) -> tuple[np.ndarray, list[str]]:
    cols, names = [np.ones(frame.height)], ["(Intercept)"]
    for c in config.fixed:
        dtype = frame.schema[c]
        if dtype.is_numeric() or dtype == pl.Boolean:
            cols.append(frame[c].cast(pl.Float64).to_numpy())
            names.append(c)
            continue
        ref = config.control if c == "condition" and config.control else default_control(frame, c)
        for level in sorted(set(frame[c].cast(pl.Utf8).to_list()) - {ref}):
            cols.append((frame[c].cast(pl.Utf8) == level).cast(pl.Float64).to_numpy())
            names.append(f"{c}[{level}]")
    return np.column_stack(cols), names


class _Problem:
    """The penalised likelihood and its Newton solve for given SDs (and, for the Laplace
    method, given fixed effects, which then enter as an offset)."""

    def __init__(self, y: np.ndarray, x: np.ndarray, codes: list[np.ndarray]) -> None:
        self.y, self.x = y, x
        sizes = [int(c.max()) + 1 for c in codes]
        big = int(np.argmax(sizes))
        # The largest factor is eliminated exactly (its block is diagonal); the rest is dense.
        self.big_codes, self.n_big = codes[big], sizes[big]
        self.p = x.shape[1]
        self.order = [k for k in range(len(codes)) if k != big] + [big]
        self.small_codes = codes[self.order[0]] if len(codes) == 2 else None
        self.n_small = sizes[self.order[0]] if len(codes) == 2 else 0
        if self.small_codes is not None:
            # The (small level, big level) cells: a fixed sparsity pattern whose values (the
            # summed weights) change each step, so the sparse matrix is built once.
            keys, self.cell = np.unique(self.small_codes.astype(np.int64) * self.n_big + self.big_codes, return_inverse=True)
            rows, cols = keys // self.n_big, keys % self.n_big
            indptr = np.searchsorted(rows, np.arange(self.n_small + 1))
            self.cells = sparse.csr_matrix((np.ones(len(keys)), cols, indptr), shape=(self.n_small, self.n_big))
        self.b1 = np.zeros(self.p + self.n_small)  # fixed effects, then the small factor's effects
        self.b2 = np.zeros(self.n_big)

    def _prec(self, log_sd: np.ndarray) -> tuple[np.ndarray, float]:
        sds = np.exp(log_sd[self.order])
        p1 = np.concatenate([np.zeros(self.p), np.full(self.n_small, sds[0] ** -2 if self.n_small else 0.0)])
        return p1, float(sds[-1] ** -2)

    def _eta(self, off: np.ndarray, b1: np.ndarray, b2: np.ndarray, with_x: bool) -> np.ndarray:
        eta = off + b2[self.big_codes]
        if with_x:
            eta = eta + self.x @ b1[: self.p]
        if self.small_codes is not None:
            eta = eta + b1[-self.n_small :][self.small_codes]
        return eta

    def _penalised(self, off: np.ndarray, b1: np.ndarray, b2: np.ndarray, p1: np.ndarray, p2: float, with_x: bool) -> float:
        eta = self._eta(off, b1, b2, with_x)
        loglik = float(np.sum(self.y * eta - np.logaddexp(0, eta)))
        return loglik - 0.5 * float(np.sum(p1 * b1**2)) - 0.5 * p2 * float(np.sum(b2**2))

    def _blocks(self, off: np.ndarray, b1: np.ndarray, b2: np.ndarray, p1: np.ndarray, p2: float, with_x: bool) -> tuple:
        """Gradient and the Schur complement of the Hessian blocks, term by term: the dense
        part is [fixed effects (with_x), small factor], the big factor is diagonal."""
        mu = expit(self._eta(off, b1, b2, with_x))
        w = mu * (1 - mu)
        r = self.y - mu
        d2 = np.bincount(self.big_codes, weights=w, minlength=self.n_big) + p2
        dinv = 1 / d2
        g2 = np.bincount(self.big_codes, weights=r, minlength=self.n_big) - p2 * b2
        g_parts, xi, m = [], None, None
        q = self.p * with_x + self.n_small
        schur = np.zeros((q, q))
        if with_x:
            xw = self.x * w[:, None]
            g_parts.append(self.x.T @ r)
            xi = np.stack([np.bincount(self.big_codes, weights=xw[:, j], minlength=self.n_big) for j in range(self.p)])
            schur[: self.p, : self.p] = xw.T @ self.x - (xi * dinv) @ xi.T
        if self.small_codes is not None:
            g_parts.append(np.bincount(self.small_codes, weights=r, minlength=self.n_small))
            m = self.cells.copy()
            m.data = np.bincount(self.cell, weights=w, minlength=m.nnz)
            lo = self.p if with_x else 0
            schur[lo:, lo:] = np.diag(np.bincount(self.small_codes, weights=w, minlength=self.n_small)) - (m.multiply(dinv) @ m.T).toarray()
            if with_x:
                xs = np.stack([np.bincount(self.small_codes, weights=xw[:, j], minlength=self.n_small) for j in range(self.p)])
                cross = xs - (m @ (xi * dinv).T).T  # type: ignore[operator]
                schur[: self.p, lo:] = cross
                schur[lo:, : self.p] = cross.T
        schur += np.diag(p1)
        g1 = (np.concatenate(g_parts) if g_parts else np.zeros(0)) - p1 * b1
        return g1, g2, (xi, m), d2, schur

    def _a12(self, a12: tuple, v: np.ndarray) -> np.ndarray:
        """The off-diagonal block times a vector over big-factor levels."""
        xi, m = a12
        return np.concatenate([part @ v for part in (xi, m) if part is not None]) if (xi is not None or m is not None) else np.zeros(0)

    def _a12t(self, a12: tuple, v: np.ndarray) -> np.ndarray:
        """The off-diagonal block's transpose times a vector over the dense part."""
        xi, m = a12
        out = np.zeros(self.n_big)
        if xi is not None:
            out += xi.T @ v[: self.p]
        if m is not None:
            out += m.T @ v[len(v) - self.n_small :]
        return out

    def solve(self, log_sd: np.ndarray, beta: np.ndarray | None, tol: float, max_iter: int) -> tuple[float, np.ndarray, np.ndarray]:
        """Newton to the mode; returns (Laplace log-likelihood, Schur complement, d2).

        ``beta`` None: the fixed effects are part of the mode (joint); else they are held."""
        p1, p2 = self._prec(log_sd)
        with_x = beta is None
        off = np.zeros(len(self.y)) if with_x else self.x @ beta
        lo = 0 if with_x else self.p
        p1 = p1[lo:]
        b1, b2 = self.b1[lo:].copy(), self.b2.copy()
        current = self._penalised(off, b1, b2, p1, p2, with_x)
        for _ in range(max_iter):
            g1, g2, a12, d2, schur = self._blocks(off, b1, b2, p1, p2, with_x)
            if schur.shape[0]:
                step1 = linalg.cho_solve(linalg.cho_factor(schur), g1 - self._a12(a12, g2 / d2))
            else:
                step1 = np.zeros(0)
            step2 = (g2 - self._a12t(a12, step1)) / d2
            # Newton decrement: the log-likelihood a full step would still gain. Below tol the
            # mode is in the quadratic region: take that last full step and stop.
            done = float(g1 @ step1 + g2 @ step2) < tol
            t = 1.0
            new = self._penalised(off, b1 + step1, b2 + step2, p1, p2, with_x)
            while not done and new < current - 1e-12 * abs(current) and t > 1e-9:  # halving keeps it an ascent
                t /= 2
                new = self._penalised(off, b1 + t * step1, b2 + t * step2, p1, p2, with_x)
            b1, b2, current = b1 + t * step1, b2 + t * step2, new
            if done:
                break
        g1, g2, a12, d2, schur = self._blocks(off, b1, b2, p1, p2, with_x)
        self.b1[lo:], self.b2 = b1, b2
        # Laplace: log p(y | mode) + log N(mode; 0, G) - 1/2 log det H_random (+ const).
        n_fixed = self.p if with_x else 0
        random_logdet = np.sum(np.log(d2))
        if schur.shape[0] > n_fixed:
            random_logdet += np.linalg.slogdet(schur[n_fixed:, n_fixed:])[1]
        log_prior_det = np.sum(np.log(p1[n_fixed:])) + self.n_big * np.log(p2)
        laplace = current + 0.5 * log_prior_det - 0.5 * random_logdet
        return float(laplace), schur, d2


class _Search:
    """The outer optimisation: Nelder-Mead on the negative Laplace log-likelihood, a
    gradient check at the end, one restart when that check fails."""

    def __init__(self, prob: _Problem, config: MixedConfig, n_sd: int) -> None:
        self.prob, self.config, self.n_sd = prob, config, n_sd
        self.bounds = [_LOG_SD_BOUNDS] * n_sd + ([(None, None)] * prob.p if config.method == "laplace" else [])

    def objective(self, theta: np.ndarray) -> float:
        beta = theta[self.n_sd :] if self.config.method == "laplace" else None
        try:
            return -self.prob.solve(np.clip(theta[: self.n_sd], *_LOG_SD_BOUNDS), beta, self.config.tol, self.config.max_newton)[0]
        except linalg.LinAlgError:
            # The curvature vanished (fitted probabilities at 0 or 1: separation): a point the
            # search must leave, not a crash. The warm start is reset for the next point.
            self.prob.b1[:] = 0.0
            self.prob.b2[:] = 0.0
            return np.inf

    def derivatives(self, theta: np.ndarray, h: float = 1e-3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Central-difference gradient and Hessian, and which parameters are free (not held
        on a bound by a gradient that pushes out of the box)."""
        k = len(theta)
        base = self.objective(theta)
        free = np.ones(k, bool)
        for j, (lo, _) in enumerate(self.bounds):
            if lo is not None and theta[j] - h < lo:
                up = theta.copy()
                up[j] += h
                free[j] = self.objective(up) < base  # the objective falls moving inward: not at the optimum
        idx = [int(j) for j in np.flatnonzero(free)]
        grad, hess = np.zeros(k), np.zeros((k, k))

        def at(shift: dict[int, float]) -> float:
            t = theta.copy()
            for j, d in shift.items():
                t[j] += d
            return self.objective(t)

        plus = {j: at({j: h}) for j in idx}
        minus = {j: at({j: -h}) for j in idx}
        for j in idx:
            grad[j] = (plus[j] - minus[j]) / (2 * h)
            hess[j, j] = (plus[j] - 2 * base + minus[j]) / h**2
        for a, j in enumerate(idx):
            for m in idx[a + 1 :]:
                hess[j, m] = hess[m, j] = (at({j: h, m: h}) - at({j: h, m: -h}) - at({j: -h, m: h}) + at({j: -h, m: -h})) / (4 * h * h)
        return grad, hess, free

    def check(self, theta: np.ndarray) -> tuple[bool, float, np.ndarray, np.ndarray, np.ndarray | None]:
        """lme4's test: the Newton step ``H^-1 g`` to the optimum (in parameter units, log SDs
        and log-odds) is below ``grad_tol`` and ``H`` is positive definite, in the free
        directions. Returns (converged, that step's largest size, Hessian, free, the step or
        None where the Hessian is not positive definite)."""
        grad, hess, free = self.derivatives(theta)
        idx = np.flatnonzero(free)
        if idx.size == 0:
            return True, 0.0, hess, free, np.zeros(0)
        sub = hess[np.ix_(idx, idx)]
        try:
            step = linalg.cho_solve(linalg.cho_factor(sub), grad[idx])
        except linalg.LinAlgError:
            return False, float(np.max(np.abs(grad[idx]))), hess, free, None
        size = float(np.max(np.abs(step)))
        return size < self.config.grad_tol, size, hess, free, step

    def run(self, start: np.ndarray, steps: np.ndarray) -> tuple[np.ndarray, float, float, np.ndarray, np.ndarray]:
        """(parameters, objective, scaled gradient, Hessian, free) after at most two searches.

        Nelder-Mead gets near the optimum; Newton steps on the checked derivatives then finish
        (each costs what one check costs, and converges quadratically where Nelder-Mead
        crawls); a point where neither succeeds restarts the search once."""
        theta = start
        for _ in range(2):
            simplex = np.vstack([theta, theta + np.diag(steps)])
            res = optimize.minimize(
                self.objective,
                theta,
                method="Nelder-Mead",
                bounds=self.bounds,
                options={"initial_simplex": simplex, "xatol": 1e-4, "fatol": 1e-8, "maxfev": self.config.max_evals},
            )
            theta, best = res.x, float(res.fun)
            for _ in range(3):
                ok, size, hess, free, step = self.check(theta)
                if ok or step is None:
                    break
                trial = theta.copy()
                trial[free] -= step
                lows = np.array([b[0] if b[0] is not None else -np.inf for b in self.bounds])
                trial = np.maximum(trial, lows)
                value = self.objective(trial)
                if value > best:
                    break
                theta, best = trial, value
            if ok:
                break
            steps = steps / 10  # restart around the best point with a smaller simplex
        return theta, self.objective(theta), size, hess, free


@drops_qc
def fit_mixed(frame: pl.DataFrame, config: MixedConfig | None = None) -> pl.DataFrame:
    """Fit the model; one row per fixed effect (``kind`` "fixed") and per random-effect SD
    (``kind`` "sd", no interval). Columns: term, kind, estimate, std_err, z, p_value,
    ci_low, ci_high, odds_ratio (fixed effects), n (judgments used), method, converged,
    max_step (the largest component of the Newton step H^-1 g still left at the answer,
    in log-SD and log-odds units: lme4's scaled gradient), log_lik (the Laplace
    log-likelihood) and note (why a fit is not to be trusted, or an SD on its bound).

    A fit whose gradient check fails still returns its best point, with ``converged``
    false, a note and a :class:`MixedConvergenceWarning`. Standard errors of the fixed
    effects come from the joint Hessian of the penalised likelihood at the answer (lme4's
    ``vcov`` without ``use.hessian``)."""
    config = config or MixedConfig()
    need = [config.outcome, *config.fixed, *config.groups]
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise ValueError(f"the frame has no column {missing[0]!r}; give a study frame or set MixedConfig.fixed / groups to columns it has")
    if not 1 <= len(config.groups) <= 2:
        raise ValueError(f"groups={config.groups!r}: give one or two grouping columns (e.g. ('rater', 'item_id'))")
    if config.method not in ("joint", "laplace"):
        raise ValueError(f"method={config.method!r}: use 'joint' (lme4 nAGQ=0) or 'laplace' (nAGQ=1)")
    f = frame.drop_nulls(need)
    y = f[config.outcome].cast(pl.Float64).to_numpy()
    if f.height < 10 or np.all(y == y[0]):
        raise ValueError(
            f"cannot fit: {f.height} usable judgments, {int(y.sum()) if f.height else 0} with {config.outcome}=1; need both outcomes"
        )
    x, names = _design(f, config)
    codes = [np.unique(f[g].cast(pl.Utf8).to_numpy(), return_inverse=True)[1] for g in config.groups]
    prob = _Problem(y, x, codes)
    n_sd, p = len(codes), x.shape[1]
    # The dense factorisations are a few hundred rows: threaded BLAS only adds contention
    # (on a busy 2-core machine a 200 x 200 Cholesky went from 1 ms to 200 ms with 2 threads).
    with threadpool_limits(1, user_api="blas"):
        joint = _Search(prob, MixedConfig(**{**config.__dict__, "method": "joint"}), n_sd)
        theta, objective, worst, _, _ = joint.run(np.full(n_sd, np.log(0.5)), np.full(n_sd, 0.5))
        log_sd = theta[:n_sd]
        if not np.isfinite(objective):
            raise ValueError(
                f"cannot fit: the fixed effects separate the {f.height} outcomes (fitted probabilities reach 0 or 1);"
                " collect more data or drop a fixed effect"
            )
        _, schur, _ = prob.solve(log_sd, None, config.tol, config.max_newton)
        beta = prob.b1[:p].copy()
        if config.method == "laplace":
            se0 = np.sqrt(np.diag(linalg.cho_solve(linalg.cho_factor(schur), np.eye(schur.shape[0])[:, :p])[:p]))
            search = _Search(prob, config, n_sd)
            theta, objective, worst, hess, free = search.run(np.r_[log_sd, beta], np.r_[np.full(n_sd, 0.1), se0])
            log_sd, beta = theta[:n_sd], theta[n_sd:]
            prob.solve(log_sd, beta, config.tol, config.max_newton)
    if config.method == "laplace":
        # As lme4 (use.hessian): the inverse Hessian of the Laplace objective over SDs and
        # fixed effects, so the SEs carry the SDs' uncertainty too.
        idx = np.flatnonzero(free)
        try:
            inv = np.linalg.inv(hess[np.ix_(idx, idx)])
            se = np.sqrt(np.diag(inv)[-p:])
        except np.linalg.LinAlgError:
            se = np.full(p, np.nan)
    else:
        cov = linalg.cho_solve(linalg.cho_factor(schur), np.eye(schur.shape[0])[:, :p])[:p]
        se = np.sqrt(np.diag(cov))
    converged = worst < config.grad_tol
    note = None
    if not converged:
        note = (
            f"mixed model did not converge: a Newton step from the answer would still move it by {worst:.2g}"
            f" (> grad_tol {config.grad_tol:g}) after a restart;"
            " its estimates are not to be trusted (simplify the model or collect more data)"
        )
        warnings.warn(note, MixedConvergenceWarning, stacklevel=3)
    z = stats.norm.ppf(0.5 + config.level / 2)
    rows: list[dict[str, object]] = [
        {
            "term": name,
            "kind": "fixed",
            "estimate": float(b),
            "std_err": float(s),
            "z": float(b / s),
            "p_value": float(2 * stats.norm.sf(abs(b / s))),
            "ci_low": float(b - z * s),
            "ci_high": float(b + z * s),
            "odds_ratio": float(np.exp(b)),
            "note": note,
        }
        for name, b, s in zip(names, beta, se)
    ]
    for g, t in zip(config.groups, log_sd):
        on_bound = t <= _LOG_SD_BOUNDS[0] + 1e-3
        rows.append(
            {
                "term": f"sd({g})",
                "kind": "sd",
                "estimate": 0.0 if on_bound else float(np.exp(t)),
                "note": note or (f"sd({g}) is on its lower bound: no variation between {g} levels beyond chance" if on_bound else None),
            }
        )
    schema = {
        "term": pl.Utf8,
        "kind": pl.Utf8,
        "estimate": pl.Float64,
        "std_err": pl.Float64,
        "z": pl.Float64,
        "p_value": pl.Float64,
        "ci_low": pl.Float64,
        "ci_high": pl.Float64,
        "odds_ratio": pl.Float64,
        "note": pl.Utf8,
    }
    return pl.DataFrame(rows, schema=schema).with_columns(
        pl.lit(f.height, pl.Int64).alias("n"),
        pl.lit(config.method).alias("method"),
        pl.lit(converged).alias("converged"),
        pl.lit(worst).alias("max_step"),
        pl.lit(-objective).alias("log_lik"),
    )
