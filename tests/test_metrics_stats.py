"""Comparison statistics: permutation p-values agree with scipy's exact paired permutation test, bootstrap intervals
cover the truth at about the nominal rate, seeds share resampled units, p-values are roughly uniform under the null,
and Holm equals statsmodels."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import permutation_test, ttest_rel
from sklearn.metrics import roc_auc_score
from statsmodels.stats.multitest import multipletests

from medadapt.metrics import (
    Counts,
    approximate_randomization,
    auroc_from_rows,
    bootstrap_ci,
    f1_from_count_rows,
    holm,
    mean_sd,
    paired_bootstrap,
    paired_effect_size,
)


def mean_metric(rows: np.ndarray) -> float:
    return float(rows[:, 0].mean())


def _ner_rows(rng: np.random.Generator, n_seeds: int, n_docs: int, recall: float) -> np.ndarray:
    """Per-document [tp, fp, fn] for a tagger finding `recall` of the gold entities, with seed-to-seed noise."""
    gold = rng.integers(1, 12, size=n_docs)
    rows = np.empty((n_seeds, n_docs, 3), dtype=int)
    for s in range(n_seeds):
        tp = rng.binomial(gold, np.clip(recall + rng.normal(0, 0.02), 0, 1))
        rows[s] = np.stack([tp, rng.poisson(1.0, n_docs), gold - tp], axis=1)
    return rows


def test_mean_sd() -> None:
    assert mean_sd([0.8, 0.82, 0.86]) == {
        "mean": pytest.approx(np.mean([0.8, 0.82, 0.86])),
        "sd": pytest.approx(np.std([0.8, 0.82, 0.86], ddof=1)),
        "n": 3,
    }
    assert mean_sd([0.5]) == {"mean": 0.5, "sd": 0.0, "n": 1}
    with pytest.raises(ValueError):
        mean_sd([])


def test_metric_helpers_match_references() -> None:
    rng = np.random.default_rng(0)
    labels = (rng.random(200) < 0.3).astype(int)
    scores = np.round(rng.normal(labels, 1.0), 1)  # ties
    rows = np.stack([labels, scores], axis=1)
    assert auroc_from_rows(rows) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert math.isnan(auroc_from_rows(np.array([[0, 0.2], [0, 0.4]])))
    ner = _ner_rows(rng, 1, 50, 0.7)[0]
    tp, fp, fn = ner.sum(axis=0)
    assert f1_from_count_rows(ner) == Counts(int(tp), int(fp), int(fn)).f1
    assert f1_from_count_rows(np.zeros((3, 3))) == 0.0


def test_bootstrap_ci_covers_the_true_mean_at_about_the_nominal_rate() -> None:
    rng = np.random.default_rng(1)
    true_mean, n_datasets = 2.0, 200
    covered = 0
    for i in range(n_datasets):
        sample = rng.exponential(true_mean, size=(1, 60, 1))  # skewed, so coverage is not trivially exact
        ci = bootstrap_ci(sample, mean_metric, n_resamples=300, seed=i)
        assert ci["low"] <= ci["estimate"] <= ci["high"]
        covered += ci["low"] <= true_mean <= ci["high"]
    assert 0.88 <= covered / n_datasets <= 0.98


def test_bootstrap_ci_uses_the_same_units_for_every_seed() -> None:
    rng = np.random.default_rng(2)
    one_seed = rng.normal(size=(1, 80, 1))
    offsets = np.array([0.0, 0.1, 0.5]).reshape(3, 1, 1)
    seeds = one_seed + offsets  # seeds differ only by a constant
    single = bootstrap_ci(one_seed, mean_metric, n_resamples=400, seed=5)
    pooled = bootstrap_ci(seeds, mean_metric, n_resamples=400, seed=5)
    # Shared unit indices: the pooled interval is the single-seed interval shifted by the mean offset. Independent
    # resampling per seed would average the noise away and give a narrower interval.
    assert pooled["estimate"] == pytest.approx(single["estimate"] + 0.2)
    assert pooled["low"] == pytest.approx(single["low"] + 0.2)
    assert pooled["high"] == pytest.approx(single["high"] + 0.2)
    assert bootstrap_ci(one_seed[0], mean_metric, n_resamples=400, seed=5) == single  # 2-D means one seed


def test_bootstrap_ci_is_deterministic_and_narrows_with_confidence() -> None:
    rows = np.random.default_rng(3).normal(size=(2, 50, 1))
    assert bootstrap_ci(rows, mean_metric, seed=9) == bootstrap_ci(rows, mean_metric, seed=9)
    wide = bootstrap_ci(rows, mean_metric, confidence=0.99, n_resamples=500)
    narrow = bootstrap_ci(rows, mean_metric, confidence=0.8, n_resamples=500)
    assert wide["low"] < narrow["low"] < narrow["high"] < wide["high"]


def test_paired_bootstrap_identical_systems() -> None:
    rows = _ner_rows(np.random.default_rng(4), 3, 60, 0.7)
    result = paired_bootstrap(rows, rows.copy(), f1_from_count_rows, n_resamples=300)
    assert result == {"difference": 0.0, "low": 0.0, "high": 0.0, "p_value": 1.0}


def test_paired_bootstrap_detects_a_better_ner_system_over_seeds() -> None:
    rng = np.random.default_rng(5)
    base = _ner_rows(rng, 3, 120, 0.65)
    better = _ner_rows(rng, 3, 120, 0.80)
    result = paired_bootstrap(base, better, f1_from_count_rows, n_resamples=1000)
    expected = np.mean([f1_from_count_rows(s) for s in better]) - np.mean([f1_from_count_rows(s) for s in base])
    assert result["difference"] == pytest.approx(expected)
    assert result["difference"] > 0 and result["low"] > 0 and result["p_value"] < 0.01
    assert result["low"] <= result["difference"] <= result["high"]
    reverse = paired_bootstrap(better, base, f1_from_count_rows, n_resamples=1000)
    assert reverse["difference"] == pytest.approx(-result["difference"])
    assert reverse["high"] == pytest.approx(-result["low"]) and reverse["low"] == pytest.approx(-result["high"])
    assert reverse["p_value"] == result["p_value"]


def test_paired_bootstrap_p_values_are_roughly_uniform_under_the_null() -> None:
    rng = np.random.default_rng(6)
    p_values = []
    for i in range(100):
        shared = rng.normal(size=(1, 40, 1))  # unit difficulty, common to both systems
        a = shared + rng.normal(size=shared.shape)
        b = shared + rng.normal(size=shared.shape)
        p_values.append(paired_bootstrap(a, b, mean_metric, n_resamples=200, seed=i)["p_value"])
    p = np.array(p_values)
    assert np.mean(p < 0.05) <= 0.12
    assert 0.35 <= p.mean() <= 0.65


def test_approximate_randomization_agrees_with_scipy_exact_test() -> None:
    rng = np.random.default_rng(7)
    for shift in (0.0, 0.3, 0.6, 1.0):
        a = rng.normal(size=12)
        b = a + shift + rng.normal(size=12)
        ours = approximate_randomization(a.reshape(1, 12, 1), b.reshape(1, 12, 1), mean_metric, n_permutations=5000)
        reference = permutation_test(
            (a, b),
            lambda x, y, axis: np.mean(y - x, axis=axis),
            permutation_type="samples",
            alternative="two-sided",
            n_resamples=10_000,  # > 2**12: scipy enumerates every assignment, so its p-value is exact
            vectorized=True,
        )
        assert ours["difference"] == pytest.approx(np.mean(b) - np.mean(a))
        assert abs(ours["p_value"] - reference.pvalue) < 0.03, (shift, ours["p_value"], reference.pvalue)


def test_approximate_randomization_extremes_and_shapes() -> None:
    rng = np.random.default_rng(8)
    rows = rng.normal(size=(2, 50, 1))
    assert approximate_randomization(rows, rows.copy(), mean_metric, n_permutations=200) == {
        "difference": 0.0,
        "p_value": 1.0,
    }
    better = approximate_randomization(rows, rows + 1.0, mean_metric, n_permutations=999)
    assert better["difference"] == pytest.approx(1.0) and better["p_value"] == pytest.approx(1 / 1000)
    with pytest.raises(ValueError, match=r"\(2, 50, 1\) and \(3, 50, 1\)"):
        approximate_randomization(rows, rng.normal(size=(3, 50, 1)), mean_metric)
    with pytest.raises(ValueError, match="rows_b"):
        paired_bootstrap(rows, rows[:, :40], mean_metric)


def test_approximate_randomization_swaps_all_seeds_of_a_unit_together() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4, 30, 1))
    # b's gain varies by unit (shared by all seeds) far more than by seed, as when some documents suit a model.
    b = a + 0.3 + rng.normal(size=(1, 30, 1)) + 0.1 * rng.normal(size=(4, 30, 1))
    several = approximate_randomization(a, b, mean_metric, n_permutations=2000, seed=3)
    # With a linear metric, swapping whole units is the same test as on seed-averaged rows with the same swaps;
    # swapping seeds independently would shrink the null spread and give a much smaller p-value.
    averaged = approximate_randomization(
        a.mean(0, keepdims=True), b.mean(0, keepdims=True), mean_metric, n_permutations=2000, seed=3
    )
    assert several["difference"] == pytest.approx(averaged["difference"])
    assert several["p_value"] == pytest.approx(averaged["p_value"], abs=2 / 2001)
    assert several["p_value"] > 0.05  # swapping (seed, unit) cells independently gives p ~ 0.007 here


@pytest.mark.parametrize("seed", range(10))
def test_holm_equals_statsmodels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    m = int(rng.integers(1, 15))
    p = rng.choice([rng.random() ** 3, 0.04, 0.5, 1.0], size=m) if seed % 2 else rng.random(m) ** 3  # some ties
    assert holm(p) == pytest.approx(multipletests(p, method="holm")[1].tolist(), abs=1e-15)
    adjusted = np.array(holm(p))
    assert np.all(adjusted >= p) and np.all(adjusted <= 1.0)
    assert np.all(np.diff(adjusted[np.argsort(p, kind="stable")]) >= 0)


def test_holm_edge_cases() -> None:
    assert holm([]) == []
    with pytest.raises(ValueError):
        holm([0.1, float("nan")])


def test_paired_effect_size_matches_paired_t() -> None:
    a = np.array([0.81, 0.83, 0.80, 0.84, 0.82])
    b = np.array([0.84, 0.85, 0.83, 0.85, 0.86])
    effect = paired_effect_size(a, b)
    assert effect["n"] == 5 and effect["mean_difference"] == pytest.approx(np.mean(b - a))
    assert effect["cohens_dz"] * math.sqrt(5) == pytest.approx(ttest_rel(b, a).statistic)
    assert math.isnan(paired_effect_size([0.8], [0.9])["cohens_dz"])
    assert math.isnan(paired_effect_size([1.0, 2.0], [1.5, 2.5])["cohens_dz"])
