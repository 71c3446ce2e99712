"""Screening metrics: equality with scikit-learn on random data, nan (not 0) where a ratio is undefined, threshold
choice against brute force, calibration on simulated (mis)calibrated risks, and multi-class/multi-label scores."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    classification_report,
    confusion_matrix,
    f1_score,
    roc_auc_score,
)

from medadapt.errors import ConfigError
from medadapt.metrics import (
    binary_metrics,
    calibration_bins,
    choose_threshold,
    expected_calibration_error,
    multiclass_metrics,
    multilabel_metrics,
    reliability_plot,
)


def _screening_data(rng: np.random.Generator, n: int, prevalence: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """Scores rounded to 2 decimals so ties occur, as they do with real, discretised model outputs."""
    y = (rng.random(n) < prevalence).astype(int)
    scores = np.clip(np.round(rng.normal(0.35 + 0.3 * y, 0.2), 2), 0.0, 1.0)
    return y, scores


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("threshold", [0.2, 0.5, 0.73])
def test_binary_metrics_equal_sklearn(seed: int, threshold: float) -> None:
    rng = np.random.default_rng(seed)
    y, scores = _screening_data(rng, int(rng.integers(20, 300)))
    m = binary_metrics(y, scores, threshold)
    predicted = (scores >= threshold).astype(int)
    tn, fp, fn, tp = confusion_matrix(y, predicted, labels=[0, 1]).ravel()
    assert (m["tp"], m["fp"], m["tn"], m["fn"]) == (tp, fp, tn, fn)
    assert m["n"] == len(y) and m["positives"] == y.sum()
    assert m["auroc"] == pytest.approx(roc_auc_score(y, scores), abs=1e-12)
    assert m["auprc"] == pytest.approx(average_precision_score(y, scores), abs=1e-12)
    assert m["brier"] == pytest.approx(brier_score_loss(y, scores), abs=1e-12)
    assert m["f1"] == pytest.approx(f1_score(y, predicted), abs=1e-12)
    assert m["sensitivity"] == pytest.approx(tp / (tp + fn))
    assert m["specificity"] == pytest.approx(tn / (tn + fp))
    assert m["ppv"] == pytest.approx(tp / (tp + fp))
    assert m["npv"] == pytest.approx(tn / (tn + fn))
    assert m["accuracy"] == pytest.approx(np.mean(predicted == y))
    assert m["review_fraction"] == pytest.approx(predicted.mean())
    assert m["threshold"] == threshold


def test_binary_metrics_are_nan_where_undefined() -> None:
    y = np.array([0, 0, 0, 0])
    scores = np.array([0.1, 0.2, 0.3, 0.4])
    m = binary_metrics(y, scores, threshold=0.9)  # one class, nothing flagged
    for key in ("auroc", "auprc", "sensitivity", "ppv", "f1"):
        assert math.isnan(m[key]), key
    assert m["specificity"] == 1.0 and m["npv"] == 1.0 and m["review_fraction"] == 0.0

    everything_flagged = binary_metrics([1, 1, 0], [0.5, 0.6, 0.7], threshold=0.0)
    assert everything_flagged["specificity"] == 0.0  # defined (there are negatives), just zero
    assert math.isnan(everything_flagged["npv"])  # no predicted negatives

    all_positive = binary_metrics([1, 1], [0.2, 0.9], threshold=0.5)
    assert math.isnan(all_positive["auroc"]) and math.isnan(all_positive["specificity"])
    assert all_positive["auprc"] == 1.0

    logits = binary_metrics([0, 1, 1], [-2.0, 0.5, 3.0], threshold=0.0)
    assert math.isnan(logits["brier"]) and logits["auroc"] == 1.0


def test_binary_metrics_reject_bad_input() -> None:
    with pytest.raises(ValueError, match="only 0 and 1"):
        binary_metrics([0, 2], [0.1, 0.2], 0.5)
    with pytest.raises(ValueError, match="has 2 values"):
        binary_metrics([0, 1], [0.1, 0.2, 0.3], 0.5)
    with pytest.raises(ValueError, match="nan"):
        binary_metrics([0, 1], [0.1, float("nan")], 0.5)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("target", [0.8, 0.9, 0.95, 1.0])
def test_choose_threshold_for_sensitivity_is_the_highest_reaching_the_target(seed: int, target: float) -> None:
    rng = np.random.default_rng(100 + seed)
    y, scores = _screening_data(rng, int(rng.integers(30, 200)))
    threshold = choose_threshold(y, scores, objective="sensitivity", target_sensitivity=target)
    assert threshold in scores
    assert binary_metrics(y, scores, threshold)["sensitivity"] >= target
    higher = np.unique(scores[scores > threshold])
    assert all(binary_metrics(y, scores, t)["sensitivity"] < target for t in higher)


@pytest.mark.parametrize("seed", range(8))
def test_choose_threshold_for_f1_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(200 + seed)
    y, scores = _screening_data(rng, int(rng.integers(30, 200)), prevalence=0.2)
    threshold = choose_threshold(y, scores, objective="f1")
    brute = {t: f1_score(y, (scores >= t).astype(int)) for t in np.unique(scores)}
    best = max(brute.values())
    assert brute[threshold] == pytest.approx(best, abs=1e-12)
    # ties go to the higher threshold
    assert threshold == max(t for t, f in brute.items() if f == pytest.approx(best, abs=1e-12))


def test_choose_threshold_needs_a_positive() -> None:
    with pytest.raises(ConfigError, match="no positive"):
        choose_threshold([0, 0, 0], [0.1, 0.5, 0.9])
    with pytest.raises(ConfigError, match="target_sensitivity"):
        choose_threshold([0, 1], [0.1, 0.5], target_sensitivity=0.0)


def test_calibration_bins_and_ece() -> None:
    rng = np.random.default_rng(7)
    risk = rng.random(20_000)
    y_calibrated = (rng.random(risk.size) < risk).astype(int)
    bins = calibration_bins(y_calibrated, risk, n_bins=10)
    assert sum(b["count"] for b in bins) == risk.size
    assert all(b["lower"] <= b["mean_score"] <= b["upper"] for b in bins)
    assert expected_calibration_error(y_calibrated, risk) < 0.02
    overconfident = np.clip(risk**0.3, 0.0, 1.0)  # same ranking, predicted risks far too high
    assert expected_calibration_error(y_calibrated, overconfident) > 0.15


def test_calibration_bin_edges_and_empty_bins() -> None:
    bins = calibration_bins([0, 1, 1, 0], [0.0, 0.3, 1.0, 0.35], n_bins=10)
    assert [(b["lower"], b["count"]) for b in bins] == [(0.0, 1), (0.3, 2), (0.9, 1)]  # 1.0 in the last, closed bin
    assert bins[1]["fraction_positive"] == 0.5 and bins[1]["mean_score"] == pytest.approx(0.325)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        calibration_bins([0, 1], [0.5, 1.5])


def test_reliability_plot_writes_png(tmp_path) -> None:
    rng = np.random.default_rng(3)
    y, scores = _screening_data(rng, 200)
    out = reliability_plot(y, scores, tmp_path / "plots" / "reliability.png", title="test")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out.stat().st_size > 5_000


def _multiclass_data(rng: np.random.Generator, n: int, labels: list[str]) -> tuple[list[str], np.ndarray]:
    truth = rng.integers(0, len(labels), n)
    logits = rng.normal(size=(n, len(labels)))
    logits[np.arange(n), truth] += 1.0
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return [labels[i] for i in truth], probabilities


@pytest.mark.parametrize("seed", range(4))
def test_multiclass_metrics_equal_sklearn(seed: int) -> None:
    labels = ["none", "diabetes", "copd", "heart_failure"]
    rng = np.random.default_rng(300 + seed)
    y, p = _multiclass_data(rng, 150, labels)
    m = multiclass_metrics(y, p, labels)
    predicted = [labels[i] for i in p.argmax(axis=1)]
    report = classification_report(y, predicted, labels=labels, output_dict=True, zero_division=np.nan)
    assert m["accuracy"] == pytest.approx(report["accuracy"])
    assert m["macro_f1"] == pytest.approx(f1_score(y, predicted, labels=labels, average="macro"))
    order = np.argsort(labels)  # sklearn wants the label list sorted, with the probability columns to match
    sorted_labels = [labels[i] for i in order]
    expected_auroc = roc_auc_score(y, p[:, order], multi_class="ovr", labels=sorted_labels, average="macro")
    assert m["macro_auroc"] == pytest.approx(expected_auroc)
    for label in labels:
        for key in ("precision", "recall", "f1-score", "support"):
            ours = m["per_class"][label]["f1" if key == "f1-score" else key]
            assert ours == pytest.approx(report[label][key]), (label, key)


def test_multiclass_undefined_values_are_nan() -> None:
    labels = ["a", "b", "c"]
    y = ["a", "a", "b", "b"]  # "c" never occurs and is never predicted
    p = np.array([[0.8, 0.1, 0.1], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.5, 0.4, 0.1]])
    m = multiclass_metrics(y, p, labels)
    assert math.isnan(m["macro_auroc"]) and math.isnan(m["per_class"]["c"]["f1"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = f1_score(y, ["a", "a", "b", "a"], labels=labels, average="macro", zero_division=np.nan)
    assert m["macro_f1"] == pytest.approx(expected)
    with pytest.raises(ValueError, match="not in"):
        multiclass_metrics(["a", "z"], p[:2], labels)


@pytest.mark.parametrize("seed", range(4))
def test_multilabel_metrics_equal_sklearn(seed: int) -> None:
    labels = ["fever", "cough", "dyspnoea"]
    rng = np.random.default_rng(400 + seed)
    y = (rng.random((120, 3)) < [0.3, 0.1, 0.5]).astype(int)
    scores = np.clip(rng.normal(0.3 + 0.4 * y, 0.2), 0.0, 1.0)
    thresholds = [0.4, 0.55, 0.5]
    m = multilabel_metrics(y, scores, labels, thresholds)
    predicted = (scores >= np.array(thresholds)).astype(int)
    assert m["micro_f1"] == pytest.approx(f1_score(y, predicted, average="micro"))
    assert m["macro_f1"] == pytest.approx(f1_score(y, predicted, average="macro"))
    for j, label in enumerate(labels):
        assert m["per_label"][label] == binary_metrics(y[:, j], scores[:, j], thresholds[j])
        assert m["per_label"][label]["auroc"] == pytest.approx(roc_auc_score(y[:, j], scores[:, j]))
    with pytest.raises(ValueError, match="one threshold per label"):
        multilabel_metrics(y, scores, labels, [0.5])
