"""Screening metrics: binary (one condition), multi-class and multi-label classification of records or patients.

A screening tool exists so that clinicians review fewer records without missing patients, so besides threshold-free
scores (AUROC, average precision) every report carries the confusion counts at a chosen threshold and the share of
records that would go to review. Ratios that are undefined on the data (PPV with nothing flagged, AUROC with a single
class) are `nan`, never 0.0: a silent zero reads like a real — and terrible — result in a results table.

Where scikit-learn has the metric it is used directly, so numbers match what reviewers would compute themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from medadapt.errors import ConfigError

# scikit-learn and matplotlib are imported inside the functions that use them: together they take over a second to
# import, and `medadapt.metrics` is imported by NER training, which needs neither.

NAN = float("nan")


def _ratio(numerator: float, denominator: float) -> float:
    """Undefined is nan, not 0.0, so an empty denominator cannot pass for a measured value."""
    return numerator / denominator if denominator else NAN


def _binary_inputs(y_true: Any, scores: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate early: sklearn's errors about label types or lengths do not say which argument was wrong."""
    y = np.asarray(y_true)
    s = np.asarray(scores, dtype=float)
    if y.ndim != 1 or s.ndim != 1:
        raise ValueError(f"y_true and scores must be 1-D, got shapes {y.shape} and {s.shape}")
    if len(y) != len(s):
        raise ValueError(f"y_true has {len(y)} values but scores has {len(s)}")
    if len(y) == 0:
        raise ValueError("no examples: y_true and scores are empty")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores contain nan or infinite values")
    if y.dtype == bool:
        y = y.astype(int)
    if not np.isin(y, (0, 1)).all():
        raise ValueError(f"y_true must contain only 0 and 1, found {sorted(set(np.unique(y).tolist()) - {0, 1})}")
    return y.astype(int), s


def _f1(tp: int, fp: int, fn: int) -> float:
    """Same evaluation order as sklearn's F-score (2·TP over true + predicted positives), so floats match."""
    return _ratio(2 * tp, (tp + fn) + (tp + fp))


def binary_metrics(y_true: Any, scores: Any, threshold: float) -> dict[str, float | int]:
    """Threshold-free and at-threshold metrics of one screening model; a record is flagged when score >= threshold.

    `brier` is nan when the scores are not probabilities (outside [0, 1]): a Brier score of logits means nothing.
    """
    from sklearn.metrics import average_precision_score, brier_score_loss, confusion_matrix, roc_auc_score

    y, s = _binary_inputs(y_true, scores)
    n = len(y)
    positives = int(y.sum())
    both_classes = 0 < positives < n
    predicted = (s >= threshold).astype(int)
    tn, fp, fn, tp = (int(v) for v in confusion_matrix(y, predicted, labels=[0, 1]).ravel())
    probabilities = bool(s.min() >= 0.0 and s.max() <= 1.0)
    return {
        "n": n,
        "positives": positives,
        "auroc": float(roc_auc_score(y, s)) if both_classes else NAN,
        "auprc": float(average_precision_score(y, s)) if positives else NAN,
        "threshold": float(threshold),
        "tp": tp,
        "fp": fp,
        "tn": tn,
        "fn": fn,
        "sensitivity": _ratio(tp, tp + fn),
        "specificity": _ratio(tn, tn + fp),
        "ppv": _ratio(tp, tp + fp),
        "npv": _ratio(tn, tn + fn),
        "f1": _f1(tp, fp, fn),
        "accuracy": (tp + tn) / n,
        "brier": float(brier_score_loss(y, s, pos_label=1)) if probabilities else NAN,
        "review_fraction": (tp + fp) / n,
    }


def choose_threshold(
    y_true: Any,
    scores: Any,
    *,
    objective: Literal["sensitivity", "f1"] = "sensitivity",
    target_sensitivity: float = 0.95,
) -> float:
    """Pick an operating threshold among the observed scores.

    "sensitivity": the highest threshold that still catches `target_sensitivity` of the positives here, because a
    higher threshold flags fewer records (best specificity and review load for the required sensitivity).
    "f1": the F1-maximising threshold; ties go to the higher threshold, again for the lighter review load.
    Choose on validation data: on the data it was chosen on, the sensitivity is optimistic by construction.
    """
    y, s = _binary_inputs(y_true, scores)
    if not y.any():
        raise ConfigError("cannot choose a threshold: the data contain no positive example (all labels are 0)")
    if objective not in ("sensitivity", "f1"):
        raise ConfigError(f"unknown threshold objective {objective!r}; use 'sensitivity' or 'f1'")
    if objective == "sensitivity" and not 0.0 < target_sensitivity <= 1.0:
        raise ConfigError(f"target_sensitivity must be in (0, 1], got {target_sensitivity}")
    candidates = np.unique(s)  # ascending
    positive_scores = np.sort(s[y == 1])
    negative_scores = np.sort(s[y == 0])
    # Counts of scores >= each candidate, computed for all candidates at once.
    tp = len(positive_scores) - np.searchsorted(positive_scores, candidates, side="left")
    fp = len(negative_scores) - np.searchsorted(negative_scores, candidates, side="left")
    fn = len(positive_scores) - tp
    if objective == "sensitivity":
        # The same division binary_metrics does, so the chosen threshold passes its own check bit for bit.
        sensitivity = tp / len(positive_scores)
        return float(candidates[np.flatnonzero(sensitivity >= target_sensitivity)[-1]])
    f1 = (2 * tp) / ((tp + fn) + (tp + fp))  # denominator > 0: there is at least one positive
    return float(candidates[np.flatnonzero(f1 == f1.max())[-1]])


def _probability_scores(y_true: Any, scores: Any) -> tuple[np.ndarray, np.ndarray]:
    y, s = _binary_inputs(y_true, scores)
    if s.min() < 0.0 or s.max() > 1.0:
        raise ValueError("calibration needs probabilities in [0, 1]; got scores outside that range")
    return y, s


def _bin_edges(n_bins: int) -> np.ndarray:
    return np.arange(n_bins + 1) / n_bins


def calibration_bins(y_true: Any, scores: Any, n_bins: int = 10) -> list[dict[str, float | int]]:
    """Equal-width bins over [0, 1] (the last one closed), empty bins left out because their means are undefined.

    Bins are found by searching the same edges that are reported, so a score sits in the bin whose bounds say so.
    Edges are i / n_bins (correctly rounded, so 0.3 is the float 0.3) rather than linspace's i * step, which puts
    an edge at 0.30000000000000004 and a score of exactly 0.3 in the bin below.
    """
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins}")
    y, s = _probability_scores(y_true, scores)
    edges = _bin_edges(n_bins)
    index = np.minimum(np.searchsorted(edges, s, side="right") - 1, n_bins - 1)
    bins: list[dict[str, float | int]] = []
    for b in range(n_bins):
        members = index == b
        count = int(members.sum())
        if count:
            bins.append(
                {
                    "lower": float(edges[b]),
                    "upper": float(edges[b + 1]),
                    "count": count,
                    "mean_score": float(s[members].mean()),
                    "fraction_positive": float(y[members].mean()),
                }
            )
    return bins


def expected_calibration_error(y_true: Any, scores: Any, n_bins: int = 10) -> float:
    """Count-weighted mean gap between predicted risk and observed frequency over `calibration_bins`."""
    bins = calibration_bins(y_true, scores, n_bins)
    n = sum(int(b["count"]) for b in bins)
    return float(sum(int(b["count"]) / n * abs(b["mean_score"] - b["fraction_positive"]) for b in bins))


def reliability_plot(y_true: Any, scores: Any, path: str | Path, *, n_bins: int = 10, title: str | None = None) -> Path:
    """Write a reliability diagram (with the score histogram underneath) as PNG.

    Uses the object-oriented Agg canvas instead of pyplot so that plotting from a library neither switches the
    caller's backend nor leaves figures registered in pyplot's global state.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    y, s = _probability_scores(y_true, scores)
    bins = calibration_bins(y, s, n_bins)
    ece = expected_calibration_error(y, s, n_bins)
    figure = Figure(figsize=(5.0, 6.0), layout="constrained")
    FigureCanvasAgg(figure)
    top, bottom = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    top.plot([0.0, 1.0], [0.0, 1.0], linestyle="--", color="grey", label="perfect calibration")
    top.plot(
        [b["mean_score"] for b in bins],
        [b["fraction_positive"] for b in bins],
        marker="o",
        color="tab:blue",
        label=f"model (ECE {ece:.3f})",
    )
    top.set_xlim(0.0, 1.0)
    top.set_ylim(0.0, 1.0)
    top.set_ylabel("observed fraction positive")
    top.set_title(title if title is not None else f"Reliability (n = {len(y)}, {int(y.sum())} positive)")
    top.legend(loc="upper left")
    bottom.hist(s, bins=_bin_edges(n_bins), color="tab:blue", edgecolor="white")
    bottom.set_xlabel("predicted probability")
    bottom.set_ylabel("records")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, format="png", dpi=100)
    return out


def multiclass_metrics(y_true: Sequence[str], probabilities: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro F1, per-class scores and macro one-vs-rest AUROC; the prediction is the most probable label.

    Undefined per-class values are nan (sklearn's `zero_division=nan`), and a class whose F1 is undefined (never
    true, never predicted) is left out of the macro mean, as sklearn does. Macro AUROC is nan when any class's
    one-vs-rest AUROC is undefined, because averaging over the remaining classes would silently change its meaning.
    """
    from sklearn.metrics import f1_score, precision_recall_fscore_support, roc_auc_score

    labels = list(labels)
    p = np.asarray(probabilities, dtype=float)
    y = np.asarray(list(y_true), dtype=object)
    if p.ndim != 2 or p.shape != (len(y), len(labels)):
        raise ValueError(f"probabilities must have shape ({len(y)}, {len(labels)}), got {p.shape}")
    if len(y) == 0:
        raise ValueError("no examples: y_true is empty")
    unknown = sorted(set(y.tolist()) - set(labels))
    if unknown:
        raise ValueError(f"y_true contains labels not in `labels`: {unknown}")
    predicted = np.asarray(labels, dtype=object)[p.argmax(axis=1)]
    precision, recall, f1, support = precision_recall_fscore_support(y, predicted, labels=labels, zero_division=np.nan)
    per_class: dict[str, dict[str, float | int]] = {}
    aurocs: list[float] = []
    for j, label in enumerate(labels):
        is_label = (y == label).astype(int)
        auroc = float(roc_auc_score(is_label, p[:, j])) if 0 < is_label.sum() < len(y) else NAN
        aurocs.append(auroc)
        per_class[label] = {
            "precision": float(precision[j]),
            "recall": float(recall[j]),
            "f1": float(f1[j]),
            "support": int(support[j]),
            "auroc": auroc,
        }
    return {
        "n": len(y),
        "accuracy": float(np.mean(predicted == y)),
        "macro_f1": float(f1_score(y, predicted, labels=labels, average="macro", zero_division=np.nan)),
        "macro_auroc": float(np.mean(aurocs)),
        "per_class": per_class,
    }


def multilabel_metrics(
    y_true: np.ndarray, scores: np.ndarray, labels: Sequence[str], thresholds: Sequence[float]
) -> dict[str, Any]:
    """Per-label `binary_metrics` at per-label thresholds, plus micro F1 (pooled counts) and macro F1.

    Macro F1 averages the labels whose F1 is defined (nan when none is), matching sklearn with `zero_division=nan`.
    """
    labels = list(labels)
    y = np.asarray(y_true)
    s = np.asarray(scores, dtype=float)
    k = len(labels)
    if y.ndim != 2 or y.shape[1] != k or s.shape != y.shape:
        raise ValueError(f"y_true and scores must both have shape (n, {k}); got {y.shape} and {s.shape}")
    if len(thresholds) != k:
        raise ValueError(f"need one threshold per label ({k}), got {len(thresholds)}")
    per_label = {label: binary_metrics(y[:, j], s[:, j], thresholds[j]) for j, label in enumerate(labels)}
    tp = sum(int(m["tp"]) for m in per_label.values())
    fp = sum(int(m["fp"]) for m in per_label.values())
    fn = sum(int(m["fn"]) for m in per_label.values())
    f1s = np.array([m["f1"] for m in per_label.values()], dtype=float)
    defined = f1s[~np.isnan(f1s)]
    return {
        "n": int(y.shape[0]),
        "micro_precision": _ratio(tp, tp + fp),
        "micro_recall": _ratio(tp, tp + fn),
        "micro_f1": _f1(tp, fp, fn),
        "macro_f1": float(defined.mean()) if len(defined) else NAN,
        "per_label": per_label,
    }
