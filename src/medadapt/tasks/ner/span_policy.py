"""Make gold spans encodable: one label per character, contiguous spans, counted every step.

BIO/BIOES can express neither overlapping nor discontinuous entities, yet real corpora have both (CT-EBM-SP:
nested UMLS groups and `s1 e1;s2 e2` spans; MoNERo: I- after O). Rather than letting the encoder pick silently,
`resolve_spans` applies an explicit policy and returns a `SpanPolicyReport` saying how many spans each rule
touched, so a user can see what the model will never be asked to predict:

- discontinuous spans are either replaced by their cover (`start`..`end`, the usual choice for BIO corpora such as
  MoNERo) or split into one span per fragment ("fragments");
- exact duplicates collapse to one, zero-length spans are dropped;
- overlaps are resolved greedily in a policy order — "longest" (keep the longest, ties by earlier start, then
  label), "first" (keep the earliest start, ties by longer), "priority" (keep the label earliest in `priority`,
  ties by longer, then earlier) — and every dropped span is counted as nested (inside/around a kept span),
  same-range (same offsets, other label) or crossing (partial overlap).

Label renaming/dropping (`map_labels`) lives in `labels.py`; apply it first, because dropping types (e.g. LIVB in
CT-EBM-SP) removes many overlaps that the policy would otherwise have to break.
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field, replace

from medadapt.documents import Document, Span

POLICIES = ("longest", "first", "priority")
DISCONTINUOUS = ("cover", "fragments")


@dataclass
class SpanPolicyReport:
    """Counts of what `resolve_spans` changed; add reports of several documents with `update`."""

    spans_in: int = 0
    spans_kept: int = 0
    discontinuous_converted: int = 0  # discontinuous spans replaced by their cover or split into fragments
    fragments_added: int = 0  # extra spans created by discontinuous="fragments"
    duplicates_dropped: int = 0  # same start, end and label as a kept span
    nested_dropped: int = 0  # inside (or around) a kept span
    same_range_dropped: int = 0  # same offsets as a kept span, other label
    overlaps_resolved: int = 0  # crossing (partial) overlaps, the dropped side
    empty_dropped: int = 0  # zero-length spans: nothing to tag
    dropped_by_label: Counter[str] = field(default_factory=Counter)

    @property
    def dropped(self) -> int:
        return (
            self.duplicates_dropped
            + self.nested_dropped
            + self.same_range_dropped
            + self.overlaps_resolved
            + self.empty_dropped
        )

    def update(self, other: SpanPolicyReport) -> None:
        for name in (
            "spans_in",
            "spans_kept",
            "discontinuous_converted",
            "fragments_added",
            "duplicates_dropped",
            "nested_dropped",
            "same_range_dropped",
            "overlaps_resolved",
            "empty_dropped",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.dropped_by_label.update(other.dropped_by_label)

    def summary(self) -> str:
        return (
            f"{self.spans_in} spans in, {self.spans_kept} kept; discontinuous converted {self.discontinuous_converted}"
            f" (+{self.fragments_added} fragments); dropped: {self.nested_dropped} nested, {self.overlaps_resolved}"
            f" crossing, {self.same_range_dropped} same-range, {self.duplicates_dropped} duplicates,"
            f" {self.empty_dropped} empty"
        )


def _contiguous(spans: list[Span], discontinuous: str, report: SpanPolicyReport) -> list[Span]:
    out: list[Span] = []
    for span in spans:
        if not span.fragments:
            out.append(span)
            continue
        report.discontinuous_converted += 1
        if discontinuous == "cover":
            out.append(replace(span, fragments=()))
        else:
            pieces = sorted(set(span.fragments))
            out.extend(Span(a, b, span.label, (), span.id) for a, b in pieces)
            report.fragments_added += len(pieces) - 1
    return out


def _order_key(policy: str, priority: list[str] | None):
    rank = {label: i for i, label in enumerate(priority or ())}
    unranked = len(rank)

    def key(span: Span) -> tuple:
        length = span.end - span.start
        label_rank = (rank.get(span.label, unranked), span.label)
        if policy == "longest":
            return (-length, span.start, label_rank)
        if policy == "first":
            return (span.start, -length, label_rank)
        return (label_rank, -length, span.start)

    return key


def resolve_spans(
    spans: list[Span],
    policy: str = "longest",
    priority: list[str] | None = None,
    discontinuous: str = "cover",
) -> tuple[list[Span], SpanPolicyReport]:
    """Return non-overlapping contiguous spans sorted by offsets, and the counts of what was changed.

    `priority` ranks labels for policy "priority" (required there) and breaks label ties in the other policies;
    labels absent from it rank after the listed ones, alphabetically, so the result never depends on input order.
    """
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
    if discontinuous not in DISCONTINUOUS:
        raise ValueError(f"discontinuous must be one of {DISCONTINUOUS}, got {discontinuous!r}")
    if policy == "priority" and not priority:
        raise ValueError('policy "priority" needs a priority list of labels, e.g. ["DISO", "CHEM", "PROC", "ANAT"]')
    report = SpanPolicyReport(spans_in=len(spans))
    candidates = sorted(_contiguous(spans, discontinuous, report), key=_order_key(policy, priority))
    kept: list[Span] = []  # sorted by start, pairwise disjoint
    starts: list[int] = []
    exact: set[tuple[int, int, str]] = set()
    for span in candidates:
        if span.start == span.end:
            report.empty_dropped += 1
            report.dropped_by_label[span.label] += 1
            continue
        i = bisect.bisect_right(starts, span.start)
        # Kept spans are non-empty, disjoint and sorted: only the two neighbours of the insertion point can clash.
        clash = next((k for k in kept[max(i - 1, 0) : i + 1] if k.overlaps(span)), None)
        if clash is None:
            kept.insert(i, span)
            starts.insert(i, span.start)
            exact.add((span.start, span.end, span.label))
            continue
        report.dropped_by_label[span.label] += 1
        if (span.start, span.end, span.label) in exact:
            report.duplicates_dropped += 1
        elif (clash.start, clash.end) == (span.start, span.end):
            report.same_range_dropped += 1
        elif clash.covers(span) or span.covers(clash):
            report.nested_dropped += 1
        else:
            report.overlaps_resolved += 1
    report.spans_kept = len(kept)
    return kept, report


def resolve_document(
    doc: Document,
    policy: str = "longest",
    priority: list[str] | None = None,
    discontinuous: str = "cover",
    report: SpanPolicyReport | None = None,
) -> Document:
    """A copy of `doc` with resolved spans; counts are added to `report` (and always to `meta["span_policy"]`)."""
    spans, own = resolve_spans(doc.spans, policy, priority, discontinuous)
    if report is not None:
        report.update(own)
    meta = dict(doc.meta)
    meta["span_policy"] = {"policy": policy, "discontinuous": discontinuous, "dropped": own.dropped}
    return replace(doc, spans=spans, meta=meta)
