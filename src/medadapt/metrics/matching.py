"""How gold and predicted spans are paired: exact (strict, boundary-only) and by overlap (lenient).

Strict compares the fragment tuple of a discontinuous span, or `((start, end),)` for a contiguous one, so a span
written with one fragment equals the same span written without; gold and predictions are multisets (a span
annotated twice must be predicted twice).

Lenient pairs a gold and a predicted span of the same type when they share at least one character (or have the
same boundaries, so that empty spans matched strictly also count), each span used at most once. Among all such
pairings we take a *maximum* one (Kuhn's augmenting paths), not a greedy one: greedy-by-overlap can leave two
matchable pairs as FP + FN (gold A overlaps only prediction X; prediction X overlaps gold B more than A does;
greedy gives X to B and A stays unmatched), and it could even score a strict match lower under lenient. Maximum
matching guarantees lenient TP >= strict TP. It is deterministic: gold spans are visited in text order and each
tries its candidates by larger overlap first, then position, so the pairs (not only their number) are stable.
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence

from medadapt.documents import Span
from medadapt.metrics.counts import Counts

Boundaries = tuple[tuple[int, int], ...]


def boundaries(span: Span) -> Boundaries:
    """What strict matching compares: the sorted fragments, or the one (start, end) range."""
    return tuple(sorted(span.fragments)) if span.fragments else ((span.start, span.end),)


def overlap(a: Span, b: Span) -> int:
    """Characters the two spans share, fragment by fragment (fragments of one span do not overlap each other)."""
    return sum(max(0, min(e1, e2) - max(s1, s2)) for s1, e1 in boundaries(a) for s2, e2 in boundaries(b))


def by_label(gold: Sequence[Span], pred: Sequence[Span]) -> dict[str, tuple[list[Span], list[Span]]]:
    """Group both sides by type: every mode except boundary-only compares spans of one type only."""
    groups: dict[str, tuple[list[Span], list[Span]]] = defaultdict(lambda: ([], []))
    for span in gold:
        groups[span.label][0].append(span)
    for span in pred:
        groups[span.label][1].append(span)
    return dict(groups)


def _exact(gold: Sequence[Span], pred: Sequence[Span]) -> Counts:
    g, p = Counter(map(boundaries, gold)), Counter(map(boundaries, pred))
    tp = sum((g & p).values())
    return Counts(tp, len(pred) - tp, len(gold) - tp)


def strict_counts(gold: Sequence[Span], pred: Sequence[Span]) -> dict[str, Counts]:
    """Per type: exact boundaries and same type."""
    return {label: _exact(g, p) for label, (g, p) in by_label(gold, pred).items()}


def boundary_counts(gold: Sequence[Span], pred: Sequence[Span]) -> Counts:
    """Type-agnostic strict: did the model find the right pieces of text, whatever it called them?"""
    return _exact(gold, pred)


def lenient_counts(gold: Sequence[Span], pred: Sequence[Span]) -> dict[str, Counts]:
    """Per type: overlap and same type, one-to-one (see the module doc)."""
    out = {}
    for label, (g, p) in by_label(gold, pred).items():
        tp = len(lenient_matching(g, p))
        out[label] = Counts(tp, len(p) - tp, len(g) - tp)
    return out


def _candidates(gold: Sequence[Span], pred: Sequence[Span]) -> list[list[int]]:
    """For each gold span, the predictions it may pair with, best first (larger overlap, then position).

    Predictions are sorted by start and each gold span looks only at those starting within the longest
    prediction's length before it, so long documents stay near-linear instead of quadratic.
    """
    order = sorted(range(len(pred)), key=lambda j: (pred[j].start, pred[j].end, j))
    starts = [pred[j].start for j in order]
    longest = max((s.end - s.start for s in pred), default=0)
    out = []
    for g in gold:
        lo, hi = bisect.bisect_left(starts, g.start - longest), bisect.bisect_right(starts, g.end)
        found = []
        for j in order[lo:hi]:
            shared = overlap(g, pred[j])
            if shared > 0 or boundaries(g) == boundaries(pred[j]):
                found.append((-shared, pred[j].start, pred[j].end, j))
        out.append([j for *_, j in sorted(found)])
    return out


def _augmenting_path(
    root: int, candidates: list[list[int]], gold_of: dict[int, int]
) -> tuple[dict[int, int], int] | None:
    """Iterative DFS from an unmatched gold span to a free prediction.

    Returns ({prediction: gold that reached it}, the free prediction), or None when there is no such path.
    """
    parent: dict[int, int] = {}
    stack: list[tuple[int, Iterator[int]]] = [(root, iter(candidates[root]))]
    while stack:
        i, options = stack[-1]
        for j in options:
            if j in parent:
                continue
            parent[j] = i
            if j not in gold_of:
                return parent, j
            stack.append((gold_of[j], iter(candidates[gold_of[j]])))
            break
        else:
            stack.pop()
    return None


def lenient_matching(gold: Sequence[Span], pred: Sequence[Span]) -> list[tuple[int, int]]:
    """A maximum one-to-one pairing of overlapping spans, as sorted (gold index, prediction index) pairs."""
    candidates = _candidates(gold, pred)
    gold_of: dict[int, int] = {}  # prediction -> gold
    pred_of: dict[int, int] = {}  # gold -> prediction
    for root in sorted(range(len(gold)), key=lambda i: (gold[i].start, gold[i].end, i)):
        found = _augmenting_path(root, candidates, gold_of) if candidates[root] else None
        if found is None:
            continue
        path, j = found
        while True:  # flip the path: every gold on it takes the next prediction
            i = path[j]
            previous = pred_of.get(i)
            pred_of[i], gold_of[j] = j, i
            if i == root:
                break
            assert previous is not None
            j = previous
    return sorted(pred_of.items())
