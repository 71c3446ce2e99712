"""Tag sequences (IOB1, IOB2, BIOES) -> token-offset spans, scored by the same code as character spans.

Two conventions exist for tags that break the scheme, chiefly an I- that does not continue an entity:

- `invalid_i="start"` (conlleval, seqeval's default mode, and medadapt's CoNLL reader): such an I- (or E-)
  starts a new entity. These chunk rules do not depend on the scheme, which only decides the allowed prefixes.
- `invalid_i="drop"` (seqeval `mode="strict"`): only well-formed entities count — IOB2: B- then I- of the same
  type; BIOES: B- (I-)* E- of one type, or S-. Anything else is ignored. For IOB1, where an I- after O is the
  normal way to start an entity, both conventions are the conlleval rules (seqeval's strict IOB1 patterns are
  not reproduced: they drop a B- after O, which IOB1 readers accept).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from medadapt.documents import Span
from medadapt.metrics.entities import LabelMap, score_spans
from medadapt.metrics.report import EntityReport

InvalidI = Literal["start", "drop"]
_PREFIXES = {"IOB1": frozenset("BIO"), "IOB2": frozenset("BIO"), "BIOES": frozenset("BIOES")}
_ALIASES = {"BIO": "IOB2", "IOBES": "BIOES"}

Tag = tuple[str, str | None]


def _scheme(scheme: str) -> str:
    name = _ALIASES.get(scheme.upper(), scheme.upper())
    if name not in _PREFIXES:
        raise ValueError(f"scheme must be one of IOB1, IOB2 (BIO), BIOES (IOBES); got {scheme!r}")
    return name


def _parse(tags: Sequence[str], scheme: str, where: str) -> list[Tag]:
    allowed = _PREFIXES[scheme]
    out: list[Tag] = []
    for i, tag in enumerate(tags):
        if tag == "O":
            out.append(("O", None))
            continue
        prefix, sep, typ = tag.partition("-")
        if not sep or not typ or prefix not in allowed:
            raise ValueError(f"{where}, token {i}: tag {tag!r} is not O or {'/'.join(sorted(allowed - {'O'}))}-TYPE")
        out.append((prefix, typ))
    return out


def _conlleval(tags: list[Tag]) -> list[Span]:
    """conlleval's startOfChunk/endOfChunk: a tag continues the entity only as I-/E- of its type after B-/I-."""
    spans: list[Span] = []
    start, current, previous = 0, None, "O"
    for i, (prefix, typ) in enumerate(tags):
        continues = prefix in ("I", "E") and previous in ("B", "I") and typ == current
        if current is not None and not continues:
            spans.append(Span(start, i, current))
            current = None
        if prefix != "O" and not continues:
            start, current = i, typ
        previous = prefix
    if current is not None:
        spans.append(Span(start, len(tags), current))
    return spans


def _well_formed(tags: list[Tag], bioes: bool) -> list[Span]:
    """seqeval strict: B- (I-)* [E- for BIOES] of one type, or S-; broken entities are skipped whole."""
    inside = ("I", "E") if bioes else ("I",)
    spans: list[Span] = []
    i, n = 0, len(tags)
    while i < n:
        prefix, typ = tags[i]
        if prefix == "S":
            spans.append(Span(i, i + 1, typ))  # type: ignore[arg-type]
            i += 1
            continue
        if prefix != "B":
            i += 1
            continue
        j = i + 1
        while j < n and tags[j][1] == typ and tags[j][0] in inside and tags[j - 1][0] in ("B", "I"):
            j += 1
        if not bioes or tags[j - 1][0] == "E":
            spans.append(Span(i, j, typ))  # type: ignore[arg-type]
        i = j
    return spans


def tags_to_spans(
    tags: Sequence[str], scheme: str = "IOB2", *, invalid_i: InvalidI = "start", where: str = "sequence"
) -> list[Span]:
    """Entities of one sentence as Spans over token indices (end exclusive); see the module doc for `invalid_i`."""
    name = _scheme(scheme)
    if invalid_i not in ("start", "drop"):
        raise ValueError(f"invalid_i must be 'start' or 'drop', got {invalid_i!r}")
    parsed = _parse(tags, name, where)
    if invalid_i == "start" or name == "IOB1":
        return _conlleval(parsed)
    return _well_formed(parsed, bioes=name == "BIOES")


def evaluate_tag_sequences(
    gold_tags: Sequence[Sequence[str]],
    pred_tags: Sequence[Sequence[str]],
    scheme: str = "IOB2",
    *,
    invalid_i: InvalidI = "start",
    labels: set[str] | None = None,
    label_map: LabelMap | None = None,
) -> EntityReport:
    """Entity scores of tagged sentences (seqeval's input), each sentence scored like one document.

    `invalid_i="start"` equals seqeval's default mode / conlleval; `"drop"` equals seqeval `mode="strict"`.
    Lenient and boundary-only scores come for free, in token units.
    """
    if len(gold_tags) != len(pred_tags):
        raise ValueError(f"{len(gold_tags)} gold sentences but {len(pred_tags)} predicted sentences")
    pairs = []
    for k, (gold, pred) in enumerate(zip(gold_tags, pred_tags, strict=True)):
        if len(gold) != len(pred):
            raise ValueError(f"sentence {k}: {len(gold)} gold tags but {len(pred)} predicted tags")
        pairs.append(
            (
                tags_to_spans(gold, scheme, invalid_i=invalid_i, where=f"gold sentence {k}"),
                tags_to_spans(pred, scheme, invalid_i=invalid_i, where=f"predicted sentence {k}"),
            )
        )
    return score_spans(pairs, labels=labels, label_map=label_map)
