"""Options of an analysis, kept apart from the heavy modules so the CLI can read them cheaply."""

from __future__ import annotations

from dataclasses import dataclass

from oversight_ext.options import option


@dataclass(frozen=True)
class AnalysisConfig:
    """Options of :func:`analyze`; the CLI's ``oversight analyze`` / ``report`` share them."""

    n_boot: int = option("bootstrap resamples per interval", 1000)
    seed: int = option("seed of the bootstrap's random generator", 0)
    level: float = option("coverage of every interval", 0.95)
    tolerance: int = option("lines a flag may miss a gold bug line by and still catch it", 1)
    mixed_model: bool = option("fit the mixed-effects logistic regression", True)
    raters: str = option(
        "whose judgments: 'auto' (people's where there are any, else the simulated raters'; never pooled), 'human',"
        " 'simulated', or 'all' (people and simulated raters pooled: only when asked for)",
        "auto",
        choices=("auto", "human", "simulated", "all"),
    )
    qc_exclude: bool = option("leave out raters below the study's pre-registered QC threshold (analysis.qc_min_accuracy)", True)
