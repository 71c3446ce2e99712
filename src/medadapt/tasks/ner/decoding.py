"""Per-window logits → character spans on the ORIGINAL document text.

1. Merge windows so each document token has one probability vector. Default "center": take it from the window
   in which the token is farthest from a cut edge (an edge that is the document's own start or end does not
   count), so each window owns the middle of its overlaps and every token is predicted with at least half the
   overlap of context on both sides. A token at a cut edge has lost its left or right context; averaging
   ("average") gives that degraded prediction equal weight and depends on the model being calibrated, so it
   is offered but not the default.
2. Read one tag per labelling unit (the word's first subword when `label_all_subwords=False`; every token
   otherwise) — exactly the units the encoder tagged, rebuilt from the windows' offsets and word ids.
3. Chunk tags into entities, repairing invalid sequences deterministically (tags.chunk_tags).
4. Spans run from the first unit's start to the last unit's end; unit offsets are already trimmed of
   whitespace, and since normalisation never moves an offset they index the original text.

Span has no score field, so the mean probability of an entity's tags goes to `meta["span_scores"]`, keyed
"start:end:label".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from medadapt.documents import Document, Span
from medadapt.tasks.ner.encoding import Window
from medadapt.tasks.ner.tags import ChunkCounts, LabelMap, chunk_tags
from medadapt.tasks.windows import build_units

MERGES = ("center", "average")


@dataclass
class DecodeReport:
    """Counts over every document decoded with it."""

    documents: int = 0
    windows: int = 0
    tokens: int = 0
    spans: int = 0
    repaired: int = 0  # I-/E- tags that started an entity (repair="conlleval")
    dropped: int = 0  # I-/E- tags ignored (repair="drop")


def _as_array(scores: Any) -> np.ndarray:
    if hasattr(scores, "detach"):  # torch tensor, without importing torch here
        scores = scores.detach().float().cpu().numpy()
    return np.asarray(scores, dtype=np.float64)


def _softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=-1, keepdims=True)


def merge_windows(
    windows: Sequence[Window], scores: Sequence[Any] | Any, *, merge: str = "center", probabilities: bool = False
) -> tuple[np.ndarray, list[tuple[int, int]], list[int | None]]:
    """Document-level (probabilities [tokens, labels], offsets, word ids) from per-window scores.

    `scores[k]` holds window k's logits (or probabilities), shape [positions, labels]; a padded batch
    [windows, max positions, labels] works too (padding beyond each window's length is ignored).
    """
    if merge not in MERGES:
        raise ValueError(f"merge must be one of {MERGES}, got {merge!r}")
    if len(windows) != len(scores):
        raise ValueError(f"{len(windows)} windows but {len(scores)} score arrays")
    n = max((w.token_end for w in windows), default=0)
    offsets: list[tuple[int, int]] = [(0, 0)] * n
    word_ids: list[int | None] = [None] * n
    probs: np.ndarray | None = None
    best = np.full(n, -1.0)
    for window, raw in zip(windows, scores, strict=True):
        size = window.token_end - window.token_start
        rows = _as_array(raw)[window.content_start : window.content_start + size]
        if rows.shape[0] != size:
            raise ValueError(f"window {window.doc_id}@{window.token_start}: {rows.shape[0]} score rows for {size}")
        rows = rows if probabilities else _softmax(rows)
        if probs is None:
            probs = np.zeros((n, rows.shape[1]))
        lo, hi = window.token_start, window.token_end
        offsets[lo:hi] = window.offsets[window.content_start : window.content_start + size]
        word_ids[lo:hi] = window.word_ids[window.content_start : window.content_start + size]
        if merge == "average":
            probs[lo:hi] += rows
            best[lo:hi] = np.maximum(best[lo:hi], 0) + 1  # counts windows per token
            continue
        index = np.arange(lo, hi)
        left = index - lo if lo > 0 else np.full(size, n)
        right = hi - 1 - index if hi < n else np.full(size, n)
        distance = np.minimum(left, right).astype(np.float64)
        better = distance > best[lo:hi]  # strict: ties keep the earlier window
        probs[lo:hi][better] = rows[better]
        best[lo:hi][better] = distance[better]
    if probs is None:
        probs = np.zeros((0, 1))
    elif merge == "average":
        probs /= np.maximum(best, 1)[:, None]
    if (best < 0).any():
        raise ValueError(f"tokens {np.flatnonzero(best < 0)[:5].tolist()}… are in no window; pass all windows")
    return probs, offsets, word_ids


def decode_document(
    doc: Document,
    windows: Sequence[Window],
    scores: Sequence[Any] | Any,
    label_map: LabelMap,
    *,
    merge: str = "center",
    repair: str = "conlleval",
    label_all_subwords: bool | None = None,
    probabilities: bool = False,
    with_scores: bool = True,
    report: DecodeReport | None = None,
) -> Document:
    """A copy of `doc` (original text) whose spans are the predicted entities, sorted.

    `windows` are this document's windows from `encode_document`, `scores` their logits (softmax applied) or,
    with `probabilities=True`, probabilities. `label_all_subwords` defaults to what the windows were encoded with.
    """
    own = [w for w in windows if w.doc_id == doc.id]
    if len(own) != len(windows):
        raise ValueError(f"decode_document({doc.id!r}) got windows of other documents; group windows by doc_id")
    if label_all_subwords is None:
        label_all_subwords = bool(windows) and windows[0].label_all_subwords
    probs, offsets, word_ids = merge_windows(windows, scores, merge=merge, probabilities=probabilities)
    if probs.shape[0] and probs.shape[1] != label_map.num_labels:
        raise ValueError(f"scores have {probs.shape[1]} labels, the label map {label_map.num_labels}")
    units = build_units(offsets, word_ids, by_word=not label_all_subwords)
    unit_probs = probs[units.token] if len(units) else np.zeros((0, label_map.num_labels))
    ids = unit_probs.argmax(axis=-1) if len(units) else np.zeros(0, dtype=int)
    counts = ChunkCounts()
    chunks = chunk_tags([label_map.labels[i] for i in ids], repair, counts)
    spans, span_scores = [], {}
    chosen = unit_probs[np.arange(len(ids)), ids] if len(units) else np.zeros(0)
    for first, stop, label in chunks:
        start, end = units.start[first], units.end[stop - 1]
        while start < end and doc.text[start].isspace():  # no-op unless a normalisation rule changed spacing
            start += 1
        while end > start and doc.text[end - 1].isspace():
            end -= 1
        span = Span(start, end, label)
        spans.append(span)
        span_scores[f"{span.start}:{span.end}:{label}"] = round(float(chosen[first:stop].mean()), 6)
    meta = dict(doc.meta)
    if with_scores:
        meta["span_scores"] = span_scores
    if report is not None:
        report.documents += 1
        report.windows += len(windows)
        report.tokens += probs.shape[0]
        report.spans += len(spans)
        report.repaired += counts.repaired
        report.dropped += counts.dropped
    return replace(doc, spans=sorted(spans), meta=meta)


def decode_documents(
    docs: Sequence[Document],
    windows: Sequence[Window],
    scores: Sequence[Any] | Any,
    label_map: LabelMap,
    **options: Any,
) -> list[Document]:
    """`decode_document` for each document, with windows (and their scores, same order) grouped by doc id."""
    by_doc: dict[str, tuple[list[Window], list[Any]]] = {}
    for window, row in zip(windows, scores, strict=True):
        group = by_doc.setdefault(window.doc_id, ([], []))
        group[0].append(window)
        group[1].append(row)
    return [decode_document(doc, *by_doc.get(doc.id, ([], [])), label_map, **options) for doc in docs]
