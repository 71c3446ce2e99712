"""Evaluation metrics. `entities`: NER scores on character spans (strict, lenient, boundary-only) and on tag
sequences, agreeing exactly with seqeval and conlleval where they overlap. `classification`: screening metrics at a
threshold, calibration and multi-class/multi-label scores; `stats`: bootstrap, permutation and multiple-testing tools
for comparing models over seeds and test units."""

from medadapt.metrics.classification import (
    binary_metrics,
    calibration_bins,
    choose_threshold,
    expected_calibration_error,
    multiclass_metrics,
    multilabel_metrics,
    reliability_plot,
)
from medadapt.metrics.counts import Averages, Counts, ModeScores
from medadapt.metrics.entities import evaluate_entities, score_spans
from medadapt.metrics.matching import lenient_matching
from medadapt.metrics.report import EntityReport
from medadapt.metrics.stats import (
    approximate_randomization,
    auroc_from_rows,
    bootstrap_ci,
    f1_from_count_rows,
    holm,
    mean_sd,
    paired_bootstrap,
    paired_effect_size,
)
from medadapt.metrics.tags import evaluate_tag_sequences, tags_to_spans

__all__ = [
    "Averages",
    "Counts",
    "EntityReport",
    "ModeScores",
    "approximate_randomization",
    "auroc_from_rows",
    "binary_metrics",
    "bootstrap_ci",
    "calibration_bins",
    "choose_threshold",
    "evaluate_entities",
    "evaluate_tag_sequences",
    "expected_calibration_error",
    "f1_from_count_rows",
    "holm",
    "lenient_matching",
    "mean_sd",
    "multiclass_metrics",
    "multilabel_metrics",
    "paired_bootstrap",
    "paired_effect_size",
    "reliability_plot",
    "score_spans",
    "tags_to_spans",
]
