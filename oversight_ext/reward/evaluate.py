"""Judging reward models against gold: held-out accuracy, calibration, the rater ceiling,
label-source comparisons with intervals over seeds, and weak-to-strong generalisation.

Accuracy is measured on gold pairs whose ``pair_id`` was never trained on. Beside it stands
the agreement of the raters themselves (InstructGPT: raters agreed 72.6-77.3 %, reward
models reached 69.6-72.4 %), since a model trained on labels rarely beats the labellers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from oversight_ext.records import Critique, Item
from oversight_ext.store import Store

from .config import RewardTrainingConfig
from .data import augment_with_mutations, check_trainable, critiques_for, fold_splits, pairs_from_items, pointwise_from_items, split_by_pair
from .dataset import from_items
from .labels import judgment_labels

__all__ = [
    "agreement_ceiling",
    "calibration",
    "compare_label_sources",
    "cross_validate",
    "expected_calibration_error",
    "gold_accuracy",
    "pair_scores",
    "pairwise_accuracy",
    "pgr",
    "summarize_over_seeds",
    "weak_to_strong",
]


def _wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return (math.nan, math.nan)
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (mid - half, mid + half)


def pair_scores(model: Any, tok: Any, pairs: pl.DataFrame, *, batch_size: int = 32, max_length: int | None = None) -> pl.DataFrame:
    """The pairs (ties left out) with ``r_chosen``, ``r_rejected`` and ``p_chosen`` = sigmoid of their difference."""
    from .model import score_texts

    hard = pairs.filter(~pl.col("tie")) if "tie" in pairs.columns else pairs
    rc = score_texts(model, tok, hard["chosen"].to_list(), batch_size=batch_size, max_length=max_length)
    rr = score_texts(model, tok, hard["rejected"].to_list(), batch_size=batch_size, max_length=max_length)
    return hard.with_columns(pl.Series("r_chosen", rc), pl.Series("r_rejected", rr), pl.Series("p_chosen", 1 / (1 + np.exp(-(rc - rr)))))


def pairwise_accuracy(model: Any, tok: Any, pairs: pl.DataFrame, **kw: Any) -> dict[str, float]:
    """Share of pairs where the chosen text scores higher, with a 95 % Wilson interval."""
    sc = pair_scores(model, tok, pairs, **kw)
    if sc.height == 0:
        raise ValueError("the evaluation pairs are empty (or all ties): hold out more pair_ids (eval_fraction) or give more items")
    k = int((sc["r_chosen"] > sc["r_rejected"]).sum())
    lo, hi = _wilson(k, sc.height)
    ece = expected_calibration_error(calibration(sc["p_chosen"].to_numpy(), np.ones(sc.height)))
    return {"accuracy": k / sc.height, "n": sc.height, "ci_low": lo, "ci_high": hi, "ece": ece}


def cross_validate(
    pairs: pl.DataFrame,
    config: RewardTrainingConfig,
    *,
    folds: int = 5,
    backbone: str = "tiny",
    progress: bool = False,
    on_fold: Any = None,
    items: Mapping[str, Item] | None = None,
) -> dict[str, Any]:
    """K-fold cross-validation by ``pair_id``: every pair is held out once, scored by a model
    that never trained on it; the pooled accuracy gets a 95 % Wilson interval over all pairs.

    Each fold trains a fresh model from ``backbone`` with ``config`` (same seed for every
    fold). ``on_fold(k, result_dict)`` is called after each fold (for progress output).
    Returns pooled ``accuracy``, ``n``, ``ci_low``, ``ci_high``, per-fold figures in
    ``folds`` and the per-pair scores in ``scores``.

    With ``config.mutation_pairs``, each fold's training pairs gain synthetic pairs planted in
    the code of their chosen items (``items``: id -> Item); held-out pairs stay as they are.
    """
    from .train import train_reward_model

    check_trainable(pairs.filter(~pl.col("tie")) if "tie" in pairs.columns else pairs, "pairwise", what="pair set")
    per_fold, scored = [], []
    for k, (train, held) in enumerate(fold_splits(pairs, folds, config.seed)):
        train = augment_with_mutations(train, items, config, seed=config.seed + k)
        res = train_reward_model(train, config, backbone=backbone, progress=progress)
        sc = pair_scores(res.model, res.tokenizer, held, batch_size=config.eval_batch_size, max_length=config.max_length)
        correct = int((sc["r_chosen"] > sc["r_rejected"]).sum())
        row = {"fold": k, "train_pairs": train.height, "eval_pairs": sc.height, "accuracy": correct / max(sc.height, 1),
               "seconds": res.seconds, "examples_per_s": res.examples_per_s}  # fmt: skip
        per_fold.append(row)
        scored.append(sc.with_columns(pl.lit(k).alias("fold")))
        if on_fold is not None:
            on_fold(k, row)
        del res
    allsc = pl.concat(scored)
    if allsc.height == 0:
        raise ValueError("no held-out pair could be scored (all ties): give pairs whose labels differ")
    k_ok = int((allsc["r_chosen"] > allsc["r_rejected"]).sum())
    lo, hi = _wilson(k_ok, allsc.height)
    ece = expected_calibration_error(calibration(allsc["p_chosen"].to_numpy(), np.ones(allsc.height)))
    return {"accuracy": k_ok / allsc.height, "n": allsc.height, "ci_low": lo, "ci_high": hi, "ece": ece,
            "folds": pl.DataFrame(per_fold), "scores": allsc}  # fmt: skip


def calibration(prob: np.ndarray, outcome: np.ndarray, bins: int = 10) -> pl.DataFrame:
    """Reliability table: per probability bin, mean prediction vs observed frequency.

    For pairs, fold both orders in: P(chosen wins) = p and P(rejected wins) = 1 - p, so a
    model that is always 100 % sure but sometimes wrong shows up.
    """
    prob = np.asarray(prob, dtype=float)
    outcome = np.asarray(outcome, dtype=float)
    if outcome.size and np.all(outcome == 1):
        prob, outcome = np.concatenate([prob, 1 - prob]), np.concatenate([outcome, 1 - outcome])
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(prob, edges[1:-1]), 0, bins - 1)
    rows = []
    for b in range(bins):
        m = which == b
        if m.any():
            rows.append(
                {
                    "bin": b,
                    "lo": edges[b],
                    "hi": edges[b + 1],
                    "n": int(m.sum()),
                    "predicted": float(prob[m].mean()),
                    "observed": float(outcome[m].mean()),
                }
            )
    return pl.DataFrame(
        rows, schema={"bin": pl.Int64, "lo": pl.Float64, "hi": pl.Float64, "n": pl.Int64, "predicted": pl.Float64, "observed": pl.Float64}
    )


def expected_calibration_error(table: pl.DataFrame) -> float:
    if table.height == 0:
        return math.nan
    n = table["n"].to_numpy()
    return float(np.sum(n * np.abs(table["predicted"].to_numpy() - table["observed"].to_numpy())) / n.sum())


def gold_accuracy(
    model: Any, tok: Any, items: Sequence[Item], text_format: str = "spec+diff", critiques: Mapping[str, Critique] | None = None
) -> dict[str, Any]:
    """Accuracy on gold: pairwise when the items form pairs, else ROC AUC of the reward on the labels.

    ``critiques`` must be given exactly when the model was trained with a ``critique``."""
    pairs = pairs_from_items(items, text_format=text_format, critiques=critiques)
    if pairs.filter(~pl.col("tie")).height:
        return {"metric": "pairwise_accuracy", **pairwise_accuracy(model, tok, pairs)}
    from sklearn.metrics import roc_auc_score

    from .model import score_texts

    pts = pointwise_from_items(items, text_format=text_format, critiques=critiques)
    if pts["label"].n_unique() < 2:
        raise ValueError("the gold items are all one label: evaluation needs both correct and buggy items")
    r = score_texts(model, tok, pts["text"].to_list())
    return {"metric": "auc", "accuracy": float(roc_auc_score(pts["label"].to_numpy(), r)), "n": pts.height}


def agreement_ceiling(store: Store, study: str) -> dict[str, float]:
    """How far the labels themselves go: inter-rater agreement and raters' accuracy on gold.

    ``agreement`` is the share of same-item rater pairs that gave the same verdict.
    """
    js = store.judgments(study=study)
    by_item: dict[str, list[str]] = {}
    for j in js:
        if j.verdict is not None:  # the store leaves "cannot judge" records out; this says so to the type checker
            by_item.setdefault(j.item_id, []).append(j.verdict)
    agree = total = 0
    for verdicts in by_item.values():
        c = sum(v == "correct" for v in verdicts)
        b = len(verdicts) - c
        agree += c * (c - 1) // 2 + b * (b - 1) // 2
        total += len(verdicts) * (len(verdicts) - 1) // 2
    gold = {it.id: it.label for it in store.iter_items(ids=sorted(by_item))}
    scored = [j.verdict == gold[j.item_id] for j in js if gold.get(j.item_id) is not None]
    return {
        "agreement": agree / total if total else math.nan,
        "rater_pairs": total,
        "rater_accuracy": float(np.mean(scored)) if scored else math.nan,
        "judgments": len(js),
    }


def summarize_over_seeds(frame: pl.DataFrame, by: str = "source", value: str = "accuracy") -> pl.DataFrame:
    """Mean and 95 % t-interval of ``value`` over seeds, per ``by``."""
    rows = []
    for (key,), g in frame.group_by([by], maintain_order=True):
        x = g[value].to_numpy()
        mean = float(x.mean())
        half = float(stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))) if len(x) > 1 else math.nan
        rows.append({by: key, "mean": mean, "ci_low": mean - half, "ci_high": mean + half, "seeds": len(x)})
    return pl.DataFrame(rows)


def compare_label_sources(
    store: Store,
    study: str,
    config: RewardTrainingConfig,
    *,
    backbone: str = "tiny",
    seeds: Sequence[int] = (0, 1, 2),
    sources: Mapping[str, Sequence[str] | None] | None = None,
    progress: bool = False,
) -> pl.DataFrame:
    """Train one RM per label source and seed; score each on the same held-out gold items.

    ``sources`` maps a name to the condition names or kinds whose judgments it uses (None:
    all). Per seed, the study's items split by pair_id; labels come from judgments of the
    training side only, accuracy from gold on the other. A source with no usable label on a
    split gets a NaN row rather than stopping the comparison.
    """
    from .train import train_reward_model

    sources = sources or {"unassisted": ["unassisted"], "assisted": ["assisted"], "pooled": None}
    judged = sorted({j.item_id for j in store.judgments(study=study)})
    items = list(store.iter_items(ids=judged))
    crit = critiques_for(items, config.critique, store=store, progress=progress) if config.critique else None
    rows = []
    for seed in seeds:
        ids = pl.DataFrame({"pair_id": [it.pair_id or it.id for it in items]})
        train_ids, _ = split_by_pair(ids, config.eval_fraction or 0.3, seed)
        keep = set(train_ids["pair_id"].to_list())
        train_items = [it for it in items if (it.pair_id or it.id) in keep]
        test_items = [it for it in items if (it.pair_id or it.id) not in keep]
        for name, conds in sources.items():
            lab = judgment_labels(
                store, study, method=config.aggregation, conditions=conds,
                condition_weights=config.condition_weights, reliability_weighting=config.reliability_weighting,
            )  # fmt: skip
            cfg = config.replace(seed=seed)
            ds = from_items(train_items, cfg, labels=lab, critiques=crit, provenance={"study": study, "source": name})
            data = ds.augmented(cfg, seed=seed).frame if cfg.objective == "pairwise" else ds.frame
            try:
                check_trainable(data.filter(~pl.col("tie")) if "tie" in data.columns else data, cfg.objective)
            except ValueError:
                # This split left the source without a usable label (e.g. no assisted pair in it): record the gap.
                rows.append({"source": name, "seed": seed, "metric": None, "accuracy": math.nan, "n_eval": 0, "n_train": 0})
                continue
            res = train_reward_model(data, cfg, backbone=backbone, progress=progress)
            acc = gold_accuracy(res.model, res.tokenizer, test_items, cfg.text_format, crit)
            rows.append(
                {
                    "source": name,
                    "seed": seed,
                    "metric": acc["metric"],
                    "accuracy": acc["accuracy"],
                    "n_eval": acc["n"],
                    "n_train": data.height,
                }
            )
    schema = {"source": pl.Utf8, "seed": pl.Int64, "metric": pl.Utf8, "accuracy": pl.Float64, "n_eval": pl.Int64, "n_train": pl.Int64}
    return pl.DataFrame(rows, schema=schema)


def pgr(weak: float, weak_to_strong: float, strong_ceiling: float) -> float:
    """Performance gap recovered (Burns et al. 2023): (w2s - weak) / (ceiling - weak)."""
    gap = strong_ceiling - weak
    if abs(gap) < 1e-12:
        return math.nan
    return (weak_to_strong - weak) / gap


def weak_to_strong(
    pairs: pl.DataFrame,
    config: RewardTrainingConfig,
    *,
    weak: str = "tiny",
    strong: str = "minilm",
    progress: bool = False,
) -> dict[str, float]:
    """Weak-to-strong on gold pairs: a weak RM labels held-out pairs, a strong one learns from those labels.

    The pairs split by pair_id into three: the weak model's training set, the transfer set
    the weak model labels (it may flip chosen and rejected), and the test set.
    """
    from .train import train_reward_model

    rest, test = split_by_pair(pairs, 1 / 3, config.seed)
    weak_train, transfer = split_by_pair(rest, 0.5, config.seed + 1)
    w = train_reward_model(weak_train, config, backbone=weak, progress=progress)
    sc = pair_scores(w.model, w.tokenizer, transfer)
    flip = (sc["r_chosen"] < sc["r_rejected"]).to_numpy()
    relabelled = sc.with_columns(
        pl.when(pl.Series(flip)).then(pl.col("rejected")).otherwise(pl.col("chosen")).alias("chosen"),
        pl.when(pl.Series(flip)).then(pl.col("chosen")).otherwise(pl.col("rejected")).alias("rejected"),
    ).select(pairs.columns)
    w2s = train_reward_model(relabelled, config, backbone=strong, progress=progress)
    ceiling = train_reward_model(transfer, config, backbone=strong, progress=progress)
    acc = {
        "weak": pairwise_accuracy(w.model, w.tokenizer, test)["accuracy"],
        "weak_to_strong": pairwise_accuracy(w2s.model, w2s.tokenizer, test)["accuracy"],
        "strong_ceiling": pairwise_accuracy(ceiling.model, ceiling.tokenizer, test)["accuracy"],
        "weak_label_accuracy": float(1 - flip.mean()),
    }
    acc["pgr"] = pgr(acc["weak"], acc["weak_to_strong"], acc["strong_ceiling"])
    return acc
