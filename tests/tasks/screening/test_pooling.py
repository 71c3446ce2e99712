"""Segment pooling equals a plain per-segment reference loop; pooling logits equals pooling vectors then the head."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score

from medadapt.metrics.classification import binary_metrics
from medadapt.metrics.stats import auprc_from_rows, threshold_metrics_from_rows
from medadapt.tasks.screening.model import pool_tokens
from medadapt.tasks.screening.pooling import segment_pool


def _reference(values, segment, n, how, scores):
    pooled, weights = [], torch.zeros(len(segment))
    for s in range(n):
        rows = (segment == s).nonzero().flatten().tolist()
        v = values[rows]
        if how == "max":
            pooled.append(v.max(dim=0).values)
            weights[rows] = (v == v.max(dim=0).values).float().mean(dim=1)
        elif how == "mean":
            pooled.append(v.mean(dim=0))
            weights[rows] = 1.0 / len(rows)
        elif how == "lse":  # r = 2
            pooled.append((torch.logsumexp(2 * v, dim=0) - np.log(len(rows))) / 2)
            weights[rows] = torch.softmax(2 * v, dim=0).mean(dim=1)
        else:
            w = torch.softmax(scores[rows], dim=0)
            pooled.append((w.unsqueeze(1) * v).sum(dim=0))
            weights[rows] = w
    return torch.stack(pooled), weights


@pytest.mark.parametrize("how", ["max", "mean", "lse", "attention"])
@pytest.mark.parametrize("seed", range(4))
def test_segment_pool_matches_reference_loop(how, seed):
    g = torch.Generator().manual_seed(seed)
    n = 7
    sizes = torch.randint(1, 6, (n,), generator=g)
    segment = torch.repeat_interleave(torch.arange(n), sizes)
    segment = segment[torch.randperm(len(segment), generator=g)]  # rows of a segment need not be contiguous
    values = torch.randn(len(segment), 3, generator=g)
    scores = torch.randn(len(segment), generator=g) * 5
    pooled, weights = segment_pool(values, segment, n, how, scores, sharpness=2.0)
    expected, expected_weights = _reference(values, segment, n, how, scores)
    torch.testing.assert_close(pooled, expected)
    torch.testing.assert_close(weights, expected_weights)


@pytest.mark.parametrize("how", ["max", "mean", "lse", "attention"])
def test_gradients_reach_every_contributing_row(how):
    values = torch.randn(6, 1, requires_grad=True)
    scores = torch.randn(6, requires_grad=True)
    segment = torch.tensor([0, 0, 1, 1, 1, 2])
    pooled, _ = segment_pool(values, segment, 3, how, scores)
    pooled.sum().backward()
    assert values.grad is not None and (values.grad != 0).sum() >= (3 if how == "max" else 6)
    if how == "attention":
        assert scores.grad is not None and scores.grad.abs().sum() > 0


def test_lse_lies_between_mean_and_max_and_tends_to_both():
    g = torch.Generator().manual_seed(1)
    values = torch.randn(12, 2, generator=g) * 3
    segment = torch.tensor([0] * 5 + [1] * 4 + [2] * 3)
    mean, _ = segment_pool(values, segment, 3, "mean")
    top, _ = segment_pool(values, segment, 3, "max")
    for r in (0.1, 1.0, 10.0):
        lse, weights = segment_pool(values, segment, 3, "lse", sharpness=r)
        assert (lse >= mean - 1e-6).all() and (lse <= top + 1e-6).all()
        torch.testing.assert_close(torch.zeros(3).index_add(0, segment, weights), torch.ones(3))
    torch.testing.assert_close(segment_pool(values, segment, 3, "lse", sharpness=1e-3)[0], mean, atol=1e-2, rtol=0)
    torch.testing.assert_close(segment_pool(values, segment, 3, "lse", sharpness=1e3)[0], top, atol=1e-2, rtol=0)


def test_lse_is_stable_for_large_logits():
    values = torch.tensor([[1000.0], [999.0], [-1000.0]])
    pooled, weights = segment_pool(values, torch.tensor([0, 0, 0]), 1, "lse", sharpness=5.0)
    assert torch.isfinite(pooled).all() and torch.isfinite(weights).all()


@pytest.mark.parametrize("how", ["max", "lse"])
def test_token_pooling_matches_reference_and_ignores_padding(how):
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(4, 9, 2, generator=g) * 3
    lengths = [9, 5, 1, 7]
    mask = torch.tensor([[1] * n + [0] * (9 - n) for n in lengths])
    poisoned = logits.clone()
    poisoned[mask == 0] = 1e6  # padding positions must never win a max or weigh in a smooth max
    pooled = pool_tokens(poisoned, mask, how, sharpness=2.0)
    for c, n in enumerate(lengths):
        real = logits[c, :n]
        expected = real.max(dim=0).values if how == "max" else (torch.logsumexp(2 * real, dim=0) - np.log(n)) / 2
        torch.testing.assert_close(pooled[c], expected)


def test_attention_on_logits_equals_attention_on_vectors_then_linear_head():
    g = torch.Generator().manual_seed(0)
    vectors = torch.randn(9, 16, generator=g)
    head = torch.nn.Linear(16, 2)
    scores = torch.randn(9, generator=g)
    segment = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 2])
    on_logits, _ = segment_pool(head(vectors), segment, 3, "attention", scores)
    pooled_vectors, _ = segment_pool(vectors, segment, 3, "attention", scores)
    torch.testing.assert_close(on_logits, head(pooled_vectors))


@pytest.mark.parametrize("seed", range(5))
def test_row_metrics_equal_sklearn_and_binary_metrics(seed):
    rng = np.random.default_rng(seed)
    y = (rng.random(80) < 0.2).astype(int)
    y[0] = 1
    scores = np.round(rng.random(80), 1)  # many ties
    rows = np.column_stack([y, scores])
    assert auprc_from_rows(rows) == pytest.approx(average_precision_score(y, scores), abs=1e-12)
    reference = binary_metrics(y, scores, 0.5)
    for name, metric in threshold_metrics_from_rows(0.5).items():
        assert metric(rows) == pytest.approx(reference[name], nan_ok=True)
