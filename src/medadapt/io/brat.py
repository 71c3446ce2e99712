"""BRAT standoff: `x.txt` (text, byte-exact) + `x.ann` (annotations) <-> one Document.

Text-bound lines `T1<TAB>LABEL 10 15;20 25<TAB>text` become spans (start = min, end = max, `fragments` for
discontinuous pieces, `Span.id` = "T1"). The annotated text must equal the document text at the offsets
(fragment texts joined by one space, as BRAT writes them) — otherwise the offsets are wrong, so reading fails
with both strings. Every other annotation line (R, E, A, M, N, #, *) is kept verbatim in `meta["brat_other"]`,
which `write_brat` writes back, so relations, attributes and notes are never lost. Text is read without
newline translation and with any BOM kept, because offsets count characters as stored (MEDDOCAN counts its
BOM).

`label_from_note` is for corpora whose entity type is an identifier and whose class sits in the entity's
`AnnotatorNotes` line — Mantra GSC: type `C0242444`, note `"C0242444", "Population at Risk", "Population
Group" ,"LIVB"`. `"last_field"` takes the note's last comma-separated field (quotes and spaces stripped);
`"umls_group"` takes the field made of UMLS semantic-group codes, because Mantra GSC swaps the last two fields on
some lines (`"OBJC" ,"Manufactured Object"`) and gives two groups for some concepts (`"OBJC|CHEM"`, kept as
written for a label map to resolve). The original type stays readable in `meta["brat_types"]` and the note line
itself is kept, so nothing is lost. A span without such a note is an error naming the .ann line, never a silently
dropped or mislabelled entity.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from medadapt.documents import Document, Span
from medadapt.io.files import read_text, stem
from medadapt.io.report import BadInput
from medadapt.io.text import safe_file_name

OTHER_PREFIXES = ("R", "E", "A", "M", "N", "#", "*")


def _short(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")


def _nearest_occurrence(text: str, mention: str, start: int, window: int) -> int | None:
    """Start of the occurrence of `mention` closest to `start` within ±window characters (ties: earlier)."""
    lo, hi = max(0, start - window), min(len(text), start + window + len(mention))
    best: int | None = None
    at = text.find(mention, lo, hi)
    while at != -1:
        if best is None or abs(at - start) < abs(best - start):
            best = at
        at = text.find(mention, at + 1, hi)
    return best


def parse_text_bound(
    line: str, text: str, ann_path: Path, number: int, *, repair: int = 0, repairs: list[dict] | None = None
) -> Span:
    """One `T` line -> Span, checked against `text`; any problem raises `BadInput` naming the .ann line.

    With `repair=N`, a span whose text is not at its offsets (CRLF vs LF, a stripped BOM, byte offsets) is moved
    to the nearest occurrence of its text within N characters; each move is appended to `repairs`. Only
    contiguous spans are repaired: a discontinuous one has no single string to search for.
    """
    parts = line.split("\t", 2)
    if len(parts) != 3:
        raise BadInput(
            ann_path,
            "malformed BRAT line",
            f"expected 'T<id>\\tLABEL start end\\ttext': {_short(line)}",
            line=number,
        )
    tid, typed, mention = parts
    label, _, offsets = typed.partition(" ")
    try:
        fragments = tuple((int(a), int(b)) for a, b in (piece.split() for piece in offsets.split(";")))
    except ValueError:
        raise BadInput(ann_path, "malformed BRAT line", f"{tid}: bad offsets {offsets!r}", line=number) from None
    if not label or any(a < 0 or b < a for a, b in fragments):
        raise BadInput(ann_path, "malformed BRAT line", f"{tid}: bad label or offsets {typed!r}", line=number)
    if max(b for _, b in fragments) > len(text):
        raise BadInput(
            ann_path,
            "BRAT offsets out of range",
            f"{tid} ends at {max(b for _, b in fragments)} beyond the text (length {len(text)})",
            line=number,
        )
    found = " ".join(text[a:b] for a, b in fragments)
    if found != mention and repair > 0 and len(fragments) == 1 and mention:
        moved = _nearest_occurrence(text, mention, fragments[0][0], repair)
        if moved is not None:
            new = (moved, moved + len(mention))
            if repairs is not None:
                repairs.append({"id": tid, "line": number, "from": list(fragments[0]), "to": list(new)})
            fragments, found = (new,), mention
    if found != mention:
        raise BadInput(
            ann_path,
            "BRAT text mismatch",
            f"{tid} ({offsets}) says {_short(mention)} but the text there is {_short(found)}",
            line=number,
        )
    start = min(a for a, _ in fragments)
    end = max(b for _, b in fragments)
    return Span(start, end, label, fragments if len(fragments) > 1 else (), tid)


def _note_target(line: str) -> tuple[str, str] | None:
    """(target id, note text) of an `#1<TAB>AnnotatorNotes T1<TAB>note` line; None for other comment lines."""
    parts = line.split("\t", 2)
    if len(parts) != 3:
        return None
    kind, _, target = parts[1].partition(" ")
    return (target.strip(), parts[2]) if kind == "AnnotatorNotes" and target.strip() else None


UMLS_GROUPS = frozenset(
    "ACTI ANAT CHEM CONC DEVI DISO GENE GEOG LIVB OBJC OCCU ORGA PHEN PHYS PROC".split()
)  # the 15 UMLS semantic groups (McCray et al.)
NOTE_LABEL_RULES = ("last_field", "umls_group")


def _label_from_note(note: str, rule: str) -> str | None:
    """The label a note gives under `rule`, or None when it gives none (see module doc)."""
    fields = [field.strip().strip('"').strip() for field in note.split(",")]
    if rule == "last_field":
        label = fields[-1]
        return label if label and " " not in label else None
    if rule == "umls_group":
        return next((f for f in fields if f and set(f.split("|")) <= UMLS_GROUPS), None)
    raise ValueError(f"unknown label_from_note rule {rule!r}; use one of {', '.join(NOTE_LABEL_RULES)}")


def _labels_from_notes(
    doc: Document, notes: dict[str, tuple[int, str]], lines: dict[str, int], ann: Path, rule: str
) -> None:
    """Relabel every span of `doc` from its AnnotatorNotes line (see module doc); the old types go to meta."""
    types: dict[str, str] = {}
    relabelled = []
    for span in doc.spans:
        tid = span.id or ""
        if tid not in notes:
            raise BadInput(
                ann,
                "BRAT label missing",
                f"{tid} has no AnnotatorNotes line to take its label from (label_from_note is set)",
                line=lines[tid],
            )
        number, note = notes[tid]
        label = _label_from_note(note, rule)
        if label is None:
            raise BadInput(
                ann,
                "BRAT label missing",
                f"the AnnotatorNotes of {tid} has no label field ({rule}): {_short(note)}",
                line=number,
            )
        types[tid] = span.label
        relabelled.append(replace(span, label=label))
    doc.spans[:] = relabelled
    doc.meta["brat_types"] = types


def read_brat_document(
    txt_path: Path,
    ann_path: Path | None,
    *,
    lang: str | None = None,
    repair: int = 0,
    label_from_note: str | None = None,
) -> Document:
    """Read one text + annotation pair. `ann_path=None` (no .ann beside the text) gives a document without
    spans, marked `meta["brat_ann"] = None` so the missing file stays visible; an empty .ann is a document
    without spans."""
    txt_path, ann_path = Path(txt_path), Path(ann_path) if ann_path is not None else None
    text = read_text(txt_path)
    if not text.strip():
        raise BadInput(txt_path, "empty file" if not text else "empty document")
    doc = Document(
        id=stem(txt_path),
        text=text,
        lang=lang,
        meta={"source": str(txt_path), "brat_ann": str(ann_path) if ann_path else None},
    )
    if ann_path is None:
        return doc
    other: list[str] = []
    repairs: list[dict] = []
    seen: set[str] = set()
    span_lines: dict[str, int] = {}
    notes: dict[str, tuple[int, str]] = {}
    for number, raw in enumerate(read_text(ann_path).split("\n"), 1):
        line = raw[:-1] if raw.endswith("\r") else raw
        if not line.strip():
            continue
        if line.startswith("T"):
            span = parse_text_bound(line, text, ann_path, number, repair=repair, repairs=repairs)
            if span.id in seen:
                raise BadInput(ann_path, "duplicate BRAT id", f"{span.id} appears twice", line=number)
            seen.add(span.id or "")
            span_lines[span.id or ""] = number
            doc.spans.append(span)
        elif line.startswith(OTHER_PREFIXES):
            other.append(line)
            note = _note_target(line) if line.startswith("#") else None
            if note is not None:
                notes[note[0]] = (number, note[1])
        else:
            raise BadInput(ann_path, "malformed BRAT line", f"unknown annotation kind: {_short(line)}", line=number)
    if other:
        doc.meta["brat_other"] = other
    if label_from_note is not None:
        _labels_from_notes(doc, notes, span_lines, ann_path, label_from_note)
    if repairs:
        doc.meta["brat_repairs"] = repairs
    return doc


def _pieces(span: Span, text: str) -> list[tuple[int, int]]:
    """Fragments to write; a fragment that crosses a line break is split there, as BRAT itself does."""
    out: list[tuple[int, int]] = []
    for a, b in span.fragments or ((span.start, span.end),):
        start = a
        for i in range(a, b):
            if text[i] in "\r\n":
                if start < i:
                    out.append((start, i))
                start = i + 1
        if start < b or a == b:
            out.append((start, b))
    return out


def ann_lines(doc: Document) -> list[str]:
    """The .ann lines for a document: T lines (existing ids kept, missing ones numbered) then `brat_other`."""
    used = {s.id for s in doc.spans if s.id}
    next_id = 1
    lines = []
    taken: set[str] = set()
    for span in doc.spans:
        tid = span.id
        if not tid or not tid.startswith("T") or tid in taken:
            while f"T{next_id}" in used or f"T{next_id}" in taken:
                next_id += 1
            tid = f"T{next_id}"
        taken.add(tid)
        pieces = _pieces(span, doc.text)
        offsets = ";".join(f"{a} {b}" for a, b in pieces)
        mention = " ".join(doc.text[a:b] for a, b in pieces)
        lines.append(f"{tid}\t{span.label} {offsets}\t{mention}")
    lines.extend(doc.meta.get("brat_other", ()))
    return lines


def write_brat(doc: Document, out_dir: Path) -> Path:
    """Write `<id>.txt` (byte-exact) and `<id>.ann` into `out_dir`; returns the .txt path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = safe_file_name(doc.id)
    txt = out_dir / f"{name}.txt"
    txt.write_bytes(doc.text.encode("utf-8"))
    lines = ann_lines(doc)
    (out_dir / f"{name}.ann").write_bytes("".join(f"{line}\n" for line in lines).encode("utf-8"))
    return txt
