"""Options of an analysis, kept apart from the heavy modules so the CLI can read them cheaply."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class AnalysisConfig:
    """Options of :func:`analyze`; the CLI's ``oversight analyze`` / ``report`` share them."""

    n_boot: int = field(default=1000, metadata={"help": "bootstrap resamples per interval"})
    seed: int = field(default=0, metadata={"help": "seed of the bootstrap's random generator"})
    level: float = field(default=0.95, metadata={"help": "coverage of every interval"})
    tolerance: int = field(default=1, metadata={"help": "lines a flag may miss a gold bug line by and still catch it"})
    mixed_model: bool = field(default=True, metadata={"help": "fit the mixed-effects logistic regression"})
    raters: str = field(
        default="auto",
        metadata={
            "help": "whose judgments: 'auto' (people's where there are any, else the simulated raters'; never pooled), 'human',"
            " 'simulated', or 'all' (people and simulated raters pooled: only when asked for)",
            "choices": ("auto", "human", "simulated", "all"),
        },
    )
    qc_exclude: bool = field(
        default=True, metadata={"help": "leave out raters below the study's pre-registered QC threshold (analysis.qc_min_accuracy)"}
    )
