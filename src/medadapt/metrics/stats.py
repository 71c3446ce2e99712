"""Statistics for comparing a further pre-trained variant with its base model over fine-tuning seeds and test units.

Two sources of variance matter: which test documents/patients happened to be sampled, and which fine-tuning seed was
drawn. So a system's outputs are kept per unit and per seed, as `rows` of shape `(n_seeds, n_units, k)` — e.g. NER
rows `[tp, fp, fn]` per document, screening rows `[label, score]` per patient — and a `metric` maps the rows of the
selected units of one seed to a number. Corpus-level metrics (F1 from summed counts, AUROC) are not means of
per-unit values, which is why resampling and permuting act on units and the metric is recomputed each time.

The pooled statistic of a system is the mean over seeds of `metric(rows[s][selected])`. Resampling draws one set of
unit indices and applies it to every seed (and, for comparisons, to both systems), so the seed average and the
pairing of systems on the same units are preserved inside each resample.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from medadapt.metrics.counts import Counts

Metric = Callable[[np.ndarray], float]

NAN = float("nan")


def _as_rows(rows: Any, name: str = "rows") -> np.ndarray:
    """Accept (n_units, k) as a single seed so one-seed callers need not add an axis; anything else must be 3-D."""
    array = np.asarray(rows)
    if array.ndim == 2:
        array = array[np.newaxis]
    if array.ndim != 3:
        raise ValueError(f"{name} must have shape (n_seeds, n_units, k) or (n_units, k), got {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{name} needs at least one seed and one unit, got shape {array.shape}")
    return array


def _paired_rows(rows_a: Any, rows_b: Any) -> tuple[np.ndarray, np.ndarray]:
    a, b = _as_rows(rows_a, "rows_a"), _as_rows(rows_b, "rows_b")
    if a.shape != b.shape:
        raise ValueError(
            f"rows_a and rows_b must have the same shape (same seeds, same units in the same order, same columns); "
            f"got {a.shape} and {b.shape}"
        )
    return a, b


def _pooled(rows: np.ndarray, metric: Metric) -> float:
    """Seed mean of the metric; `rows` is already restricted to the selected units."""
    return float(np.mean([metric(seed_rows) for seed_rows in rows]))


def mean_sd(values: Sequence[float] | np.ndarray) -> dict[str, float | int]:
    """Mean ± sample sd over seeds; one value gets sd 0.0 so a single-seed table still renders."""
    x = np.asarray(values, dtype=float)
    if x.ndim != 1 or len(x) == 0:
        raise ValueError(f"need a non-empty 1-D sequence of values, got shape {x.shape}")
    return {"mean": float(x.mean()), "sd": float(x.std(ddof=1)) if len(x) > 1 else 0.0, "n": len(x)}


def _resample_indices(n_units: int, n_resamples: int, confidence: float, seed: int) -> np.ndarray:
    """Bootstrap unit indices, one row per resample, shared by every seed (and both systems when paired)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
    return np.random.default_rng(seed).integers(0, n_units, size=(n_resamples, n_units))


def bootstrap_ci(
    rows: Any, metric: Metric, *, n_resamples: int = 1000, confidence: float = 0.95, seed: int = 0
) -> dict[str, float]:
    """Percentile bootstrap interval of the pooled statistic, resampling test units with replacement.

    The same unit indices are used for every seed, so the interval reflects test-set sampling of the seed-averaged
    score. Resamples where the metric is undefined (nan, e.g. AUROC of a one-class resample) are left out.
    """
    data = _as_rows(rows)
    indices = _resample_indices(data.shape[1], n_resamples, confidence, seed)
    statistics = np.array([_pooled(data[:, idx], metric) for idx in indices])
    low, high = _percentile_interval(statistics, confidence)
    return {"estimate": _pooled(data, metric), "low": low, "high": high}


def _percentile_interval(statistics: np.ndarray, confidence: float) -> tuple[float, float]:
    valid = statistics[~np.isnan(statistics)]
    if len(valid) == 0:
        return NAN, NAN
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(valid, [tail, 100.0 - tail])
    return float(low), float(high)


def paired_bootstrap(
    rows_a: Any,
    rows_b: Any,
    metric: Metric,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, float]:
    """Paired bootstrap of pooled(b) - pooled(a): units are resampled jointly for both systems and all seeds.

    p-value (two-sided): the percentile-bootstrap p-value, i.e. twice the smaller tail of the resampled differences
    on either side of zero, with the usual +1 Monte Carlo correction:
        p = min(1, 2 * min(#{d* <= 0} + 1, #{d* >= 0} + 1) / (B + 1))
    where B is the number of resamples with a defined difference. It is the smallest alpha at which the (1 - alpha)
    percentile interval excludes 0, so the p-value and the reported interval never contradict each other; for a
    symmetric bootstrap distribution it equals the "shift" test of Berg-Kirkpatrick et al. (2012), which counts
    |d* - d| >= |d|. The +1 keeps a finite resample count from claiming p = 0. Identical systems give p = 1.
    """
    a, b = _paired_rows(rows_a, rows_b)
    indices = _resample_indices(a.shape[1], n_resamples, confidence, seed)
    differences = np.array([_pooled(b[:, idx], metric) - _pooled(a[:, idx], metric) for idx in indices])
    low, high = _percentile_interval(differences, confidence)
    valid = differences[~np.isnan(differences)]
    if len(valid):
        smaller_tail = min(int(np.sum(valid <= 0)), int(np.sum(valid >= 0))) + 1
        p_value = min(1.0, 2.0 * smaller_tail / (len(valid) + 1))
    else:
        p_value = NAN
    return {"difference": _pooled(b, metric) - _pooled(a, metric), "low": low, "high": high, "p_value": p_value}


def approximate_randomization(
    rows_a: Any, rows_b: Any, metric: Metric, *, n_permutations: int = 1000, seed: int = 0
) -> dict[str, float]:
    """Two-sided approximate randomization (paired permutation) test of pooled(b) - pooled(a).

    Under the null the two systems are exchangeable on each unit, so each unit's rows are swapped between systems
    with probability 1/2 — for all seeds of that unit together, keeping the seed structure intact.
    p = (#{|d_perm| >= |d_obs|} + 1) / (n_permutations + 1), the +1 counting the observed assignment (so p > 0).
    The comparison allows a relative 1e-12 of rounding, like scipy's permutation_test, so permutations that are
    mathematically as extreme as the observed one are not lost to floating-point summation order.
    """
    a, b = _paired_rows(rows_a, rows_b)
    if n_permutations < 1:
        raise ValueError(f"n_permutations must be at least 1, got {n_permutations}")
    observed = _pooled(b, metric) - _pooled(a, metric)
    rng = np.random.default_rng(seed)
    swaps = rng.random((n_permutations, a.shape[1])) < 0.5
    tolerance = 1e-12 * abs(observed)
    as_extreme = 0
    valid = 0
    for swap in swaps:
        mask = swap[np.newaxis, :, np.newaxis]
        difference = _pooled(np.where(mask, a, b), metric) - _pooled(np.where(mask, b, a), metric)
        if np.isnan(difference):
            continue
        valid += 1
        as_extreme += abs(difference) >= abs(observed) - tolerance
    p_value = (as_extreme + 1) / (valid + 1) if valid else NAN
    return {"difference": observed, "p_value": p_value}


def holm(p_values: Sequence[float] | np.ndarray) -> list[float]:
    """Holm–Bonferroni step-down adjusted p-values, in the input order.

    Controls the family-wise error over the study's comparisons without Bonferroni's loss of power; the running
    maximum keeps adjusted values monotone in the raw ones.
    """
    p = np.asarray(p_values, dtype=float)
    if p.ndim != 1:
        raise ValueError(f"p_values must be 1-D, got shape {p.shape}")
    if np.any(np.isnan(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError("p_values must lie in [0, 1] (no nan)")
    m = len(p)
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate(p[order] * np.arange(m, 0, -1))
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(stepped, 1.0)
    return adjusted.tolist()


def paired_effect_size(
    values_a: Sequence[float] | np.ndarray, values_b: Sequence[float] | np.ndarray
) -> dict[str, float | int]:
    """Mean per-seed difference (b - a) and Cohen's d_z = mean / sd of the differences (sample sd).

    d_z is nan with fewer than two pairs or identical differences: the ratio is undefined, and an "infinite" effect
    from zero seed variance would only reflect too few seeds.
    """
    a = np.asarray(values_a, dtype=float)
    b = np.asarray(values_b, dtype=float)
    if a.ndim != 1 or a.shape != b.shape or len(a) == 0:
        raise ValueError(f"need two non-empty 1-D sequences of equal length, got shapes {a.shape} and {b.shape}")
    d = b - a
    sd = float(d.std(ddof=1)) if len(d) > 1 else 0.0
    mean = float(d.mean())
    return {"mean_difference": mean, "cohens_dz": mean / sd if sd > 0 else NAN, "n": len(d)}


def f1_from_count_rows(rows: np.ndarray) -> float:
    """Micro F1 from NER rows `[tp, fp, fn]` summed over units, with seqeval's 0.0 for undefined ratios.

    Goes through `Counts`, the arithmetic of the entity scores, so the full-data value equals the reported F1.
    """
    tp, fp, fn = (int(v) for v in np.asarray(rows)[:, :3].sum(axis=0))
    return Counts(tp, fp, fn).f1


def auroc_from_rows(rows: np.ndarray) -> float:
    """AUROC from screening rows `[label, score]` by the rank-sum (Mann–Whitney) formula, ties counted as 1/2.

    numpy only: a bootstrap calls it thousands of times, where sklearn's per-call validation dominates the cost.
    nan when the rows contain a single class.
    """
    data = np.asarray(rows, dtype=float)
    positive = data[:, 0] == 1
    n_pos = int(positive.sum())
    n_neg = len(data) - n_pos
    if n_pos == 0 or n_neg == 0:
        return NAN
    _, inverse, counts = np.unique(data[:, 1], return_inverse=True, return_counts=True)
    average_rank = np.cumsum(counts) - (counts - 1) / 2.0  # 1-based mean rank of each tied group
    rank_sum = float(average_rank[inverse][positive].sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def auprc_from_rows(rows: np.ndarray) -> float:
    """Average precision from rows `[label, score]`, equal to sklearn's `average_precision_score` (tied scores form
    one threshold); numpy only, for the same reason as `auroc_from_rows`. nan without positives."""
    data = np.asarray(rows, dtype=float)
    order = np.argsort(-data[:, 1], kind="mergesort")
    y = data[order, 0] == 1
    n_pos = int(y.sum())
    if n_pos == 0:
        return NAN
    scores = data[order, 1]
    last_of_tie = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    tp = np.cumsum(y)[last_of_tie]
    fp = np.cumsum(~y)[last_of_tie]
    recall = tp / n_pos
    precision = tp / (tp + fp)
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


# numerator and denominator of each at-threshold metric from (tp, fp, tn, fn), in binary_metrics' float order
_AT_THRESHOLD: dict[str, Callable[[int, int, int, int], tuple[int, int]]] = {
    "sensitivity": lambda tp, fp, tn, fn: (tp, tp + fn),
    "specificity": lambda tp, fp, tn, fn: (tn, tn + fp),
    "ppv": lambda tp, fp, tn, fn: (tp, tp + fp),
    "npv": lambda tp, fp, tn, fn: (tn, tn + fn),
    "f1": lambda tp, fp, tn, fn: (2 * tp, (tp + fn) + (tp + fp)),
}


def threshold_metrics_from_rows(threshold: float) -> dict[str, Metric]:
    """Sensitivity, specificity, PPV, NPV and F1 at a fixed threshold as row metrics over `[label, score]`
    (flagged when score >= threshold, as in `binary_metrics`); nan where a denominator is 0."""

    def make(ratio: Callable[[int, int, int, int], tuple[int, int]]) -> Metric:
        def metric(rows: np.ndarray) -> float:
            data = np.asarray(rows, dtype=float)
            y, flagged = data[:, 0] == 1, data[:, 1] >= threshold
            tp, fp = int(np.sum(y & flagged)), int(np.sum(~y & flagged))
            tn, fn = int(np.sum(~y & ~flagged)), int(np.sum(y & ~flagged))
            numerator, denominator = ratio(tp, fp, tn, fn)
            return numerator / denominator if denominator else NAN

        return metric

    return {name: make(ratio) for name, ratio in _AT_THRESHOLD.items()}
