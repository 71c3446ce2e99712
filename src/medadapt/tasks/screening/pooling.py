"""Segment pooling: many rows (chunks) → one row per segment (note, patient) by max, mean, lse or attention.

Batches hold patients with different numbers of notes and chunks, so pooling works on flat tensors with a
segment index per row (`scatter_reduce` / `index_add`) rather than padded 3-D tensors: no padding rows can leak
into a max or a softmax, and one code path serves training batches and whole test sets.

Pooling acts on logits. For mean and attention pooling that is exactly pooling the chunk vectors and then applying
the (linear) classification head, because the head commutes with weighted averages; for max it is the "any chunk
shows it" rule of sliding-window screening. `lse` is the smooth maximum of multiple-instance learning,
(1/r)·log(mean(exp(r·x))): between mean (r → 0) and max (r → ∞), it keeps the "any chunk shows it" rule once the
logits spread, while every chunk gets a gradient (its softmax share) from the first step instead of only the
arg-max chunk, which is arbitrary while the head is untrained. (Measured on the demo data: this alone does not
shorten the windows plateau described in `medadapt.demo.study`.) Attention weights come from a learned
scorer on the chunk's [CLS] vector, softmax-normalised within each segment.
"""

from __future__ import annotations

import torch


def _segment_logsumexp(x: torch.Tensor, segment: torch.Tensor, n_segments: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(log-sum-exp per segment [n_segments, ...], softmax of each row within its segment [rows, ...]) over the
    rows of `x` ([rows] or [rows, k], column by column); stable: the segment max is subtracted first (it is held
    constant for the gradient, which it cancels out of exactly)."""
    index = segment.view(-1, *([1] * (x.ndim - 1))).expand_as(x)
    top = torch.full((n_segments, *x.shape[1:]), -torch.inf, dtype=x.dtype, device=x.device)
    top = top.scatter_reduce(0, index, x.detach(), reduce="amax", include_self=True)
    exp = torch.exp(x - top[segment])
    total = torch.zeros_like(top).index_add(0, segment, exp)
    return top + torch.log(total), exp / total[segment]


def _segment_sizes(segment: torch.Tensor, n_segments: int, like: torch.Tensor) -> torch.Tensor:
    """Rows per segment, in `like`'s dtype and device."""
    ones = torch.ones(len(segment), dtype=like.dtype, device=like.device)
    return torch.zeros(n_segments, dtype=like.dtype, device=like.device).index_add(0, segment, ones)


def segment_softmax(scores: torch.Tensor, segment: torch.Tensor, n_segments: int) -> torch.Tensor:
    """Softmax of `scores` (rows) within each segment; stable (segment max subtracted)."""
    return _segment_logsumexp(scores, segment, n_segments)[1]


def segment_pool(
    values: torch.Tensor,
    segment: torch.Tensor,
    n_segments: int,
    how: str,
    scores: torch.Tensor | None = None,
    sharpness: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pool rows of `values` (shape [rows, k]) into [n_segments, k]; also return each row's weight in its segment.

    Weights: attention → the softmax weights; mean → 1/size; max → the share of the k columns the row supplied the
    maximum for (1 for the arg-max row of a one-logit task); lse → the row's softmax(r·x) share (the gradient of
    the pooled value), averaged over the k columns. `sharpness` is lse's r. Every segment must have at least one row.
    """
    if values.ndim != 2:
        raise ValueError(f"values must be 2-D [rows, k], got shape {tuple(values.shape)}")
    k = values.shape[1]
    index = segment.unsqueeze(1).expand(-1, k)
    if how == "max":
        pooled = torch.full((n_segments, k), -torch.inf, dtype=values.dtype, device=values.device)
        pooled = pooled.scatter_reduce(0, index, values, reduce="amax", include_self=True)
        weights = (values == pooled[segment]).to(values.dtype).mean(dim=1)
        return pooled, weights
    if how == "mean":
        size = _segment_sizes(segment, n_segments, values)
        pooled = torch.zeros(n_segments, k, dtype=values.dtype, device=values.device).index_add(0, segment, values)
        return pooled / size.unsqueeze(1), 1.0 / size[segment]
    if how == "lse":
        total, shares = _segment_logsumexp(values * sharpness, segment, n_segments)
        size = _segment_sizes(segment, n_segments, values)
        return (total - torch.log(size).unsqueeze(1)) / sharpness, shares.mean(dim=1)
    if how == "attention":
        if scores is None:
            raise ValueError("attention pooling needs a score per row")
        weights = segment_softmax(scores, segment, n_segments)
        pooled = torch.zeros(n_segments, k, dtype=values.dtype, device=values.device)
        return pooled.index_add(0, segment, weights.unsqueeze(1) * values), weights
    raise ValueError(f"unknown pooling {how!r}; use max, mean, lse or attention")
