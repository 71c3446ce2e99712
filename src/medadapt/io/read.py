"""`read_documents`: one streaming entry point over every format, with per-file format detection and skip_bad.

The function checks its arguments and expands the inputs eagerly (a typo fails at once), then returns a
generator that reads one file at a time and, inside line-based files, one record at a time — memory stays flat
whatever the corpus size. Bad items go through one callback: raise (default) or record in a `BadInputReport`
and go on. A file-level problem (unreadable, empty, a CSV header without the text column) skips the rest of
that file. A file that yields no document and reported nothing is itself reported as empty, so no file
disappears without a trace.

What a reader accepted but changed (CoNLL I- tags that started an entity, tags read as O, BRAT spans moved to
their text, a BRAT text read without its `.ann`) is marked in each document's meta; `ReadCounts` sums those
marks so the callers that score or train on annotations can report them, and `missing_ann_error` is the one
message for a BRAT text without annotations where annotations are required.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medadapt.documents import Document
from medadapt.errors import InputError
from medadapt.io.brat import read_brat_document
from medadapt.io.conll import read_conll
from medadapt.io.fields import Fields
from medadapt.io.files import base_suffix, stem
from medadapt.io.inputs import (
    FORMAT_EXTENSIONS,
    FORMATS,
    detect_format,
    expand_inputs,
    sibling_ann,
    sibling_txt,
)
from medadapt.io.jsonl import read_jsonl
from medadapt.io.report import BadInput, BadInputReport, OnBad, make_on_bad
from medadapt.io.tabular import read_table
from medadapt.io.text import read_lines, read_text_file

BRAT_TEXT_EXTENSIONS = FORMAT_EXTENSIONS["text"]


class _Folders:
    """Remembers which folders hold .ann files, so a lone .txt there is read as unannotated BRAT."""

    def __init__(self) -> None:
        self._cache: dict[Path, bool] = {}

    def has_ann(self, folder: Path) -> bool:
        if folder not in self._cache:
            self._cache[folder] = any(base_suffix(p) == ".ann" for p in folder.iterdir())
        return self._cache[folder]


def read_documents(
    inputs: str | Path | Sequence[str | Path],
    fmt: str = "auto",
    *,
    one_per_line: bool = False,
    text_field: str = "text",
    id_field: str = "id",
    lang_field: str = "lang",
    label_field: str = "label",
    group_field: str = "group",
    lang: str | None = None,
    label_column: int | str | None = None,
    skip_bad: bool = False,
    report: BadInputReport | None = None,
    scheme: str = "auto",
    sentences_as_documents: bool = False,
    brat_repair: int = 0,
    brat_label_from_note: str | None = None,
    annotated: bool = False,
) -> Iterator[Document]:
    """Stream documents from files, folders and globs (see module doc); returns a generator.

    fmt: "auto" (per file, from the extension after `.gz`), "text", "lines", "jsonl", "csv", "tsv", "brat",
    "conll". `one_per_line` makes `.txt` files "lines" (blank lines are separators, not bad input).
    `*_field` name the record fields (JSONL) or columns (CSV/TSV); `lang` is the default language.
    `label_column`: CoNLL label column index (default last), or for CSV/TSV the label column name/index.
    `scheme`/`sentences_as_documents`: CoNLL options. `brat_repair=N`: a BRAT span whose text is not at its offsets
    is moved to the nearest occurrence of its text within N characters (recorded in `meta["brat_repairs"]`).
    `brat_label_from_note`: "last_field" or "umls_group": BRAT labels come from each entity's AnnotatorNotes
    (Mantra GSC; see brat.py). `annotated`: the caller needs annotations (NER), so with fmt="auto" a `.txt` is
    BRAT even with no `.ann` beside it (marked `meta["brat_ann"] = None` for the caller to refuse or count),
    never a plain text that silently has no entities.
    With `skip_bad`, bad items are recorded in `report` (or logged as warnings when no report is given) and
    reading continues; without it the first one raises.
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {', '.join(FORMATS)}; got {fmt!r}")
    if isinstance(inputs, str | Path):
        inputs = [inputs]
    paths = expand_inputs(inputs, extensions=set(FORMAT_EXTENSIONS[fmt]))
    on_bad = make_on_bad(skip_bad, report)
    fields = Fields(text_field, id_field, lang_field, label_field, group_field)
    options = {
        "one_per_line": one_per_line,
        "lang": lang,
        "label_column": label_column,
        "scheme": scheme,
        "sentences_as_documents": sentences_as_documents,
        "brat_repair": brat_repair,
        "brat_label_from_note": brat_label_from_note,
        "annotated": annotated,
    }
    return _read_all(paths, fmt, on_bad, fields, options)


def _read_all(
    paths: list[Path], fmt: str, on_bad: OnBad, fields: Fields, options: dict[str, object]
) -> Iterator[Document]:
    folders = _Folders()
    listed = set(paths)
    for path in paths:
        problems = 0

        def counting(error: InputError) -> None:
            nonlocal problems
            problems += 1
            on_bad(error)

        produced = 0
        try:
            for doc in _read_file(path, fmt, counting, fields, options, folders, listed):
                produced += 1
                yield doc
            if produced == 0 and problems == 0 and not _consumed_elsewhere(path, fmt):
                counting(BadInput(path, "empty file", "no documents in it"))
        except InputError as exc:  # file-level: the rest of this file is unreadable
            on_bad(exc)


def _consumed_elsewhere(path: Path, fmt: str) -> bool:
    """A .ann file is read with its .txt, so it yields nothing itself."""
    return base_suffix(path) == ".ann" and fmt in ("auto", "brat")


def _read_file(
    path: Path,
    fmt: str,
    on_bad: OnBad,
    fields: Fields,
    options: dict[str, object],
    folders: _Folders,
    listed: set[Path],
) -> Iterator[Document]:
    lang = options["lang"]
    assert lang is None or isinstance(lang, str)
    one_per_line = bool(options["one_per_line"])
    kind = fmt
    if fmt == "auto":
        kind = detect_format(path, one_per_line=one_per_line)
        if kind in ("text", "lines") and (options["annotated"] or folders.has_ann(path.parent)):
            kind = "brat"
    elif fmt == "text" and one_per_line:
        kind = "lines"
    if kind == "brat":
        repair = options["brat_repair"]
        assert isinstance(repair, int)
        from_note = options["brat_label_from_note"]
        assert from_note is None or isinstance(from_note, str)
        yield from _read_brat(path, lang, listed, repair, from_note)
    elif kind == "text":
        yield read_text_file(path, lang=lang)
    elif kind == "lines":
        yield from read_lines(path, on_bad, lang=lang)
    elif kind == "jsonl":
        yield from read_jsonl(path, on_bad, fields, lang=lang)
    elif kind in ("csv", "tsv"):
        label_column = options["label_column"]
        assert label_column is None or isinstance(label_column, int | str)
        delimiter = "\t" if kind == "tsv" else ","
        yield from read_table(path, on_bad, fields, delimiter=delimiter, lang=lang, label_column=label_column)
    elif kind == "conll":
        label_column = options["label_column"]
        if label_column is not None and not isinstance(label_column, int):
            raise ValueError(f"label_column for CoNLL must be a column index, got {label_column!r}")
        yield from read_conll(
            path,
            on_bad,
            label_column=label_column,
            scheme=str(options["scheme"]),
            sentences_as_documents=bool(options["sentences_as_documents"]),
            lang=lang,
        )
    else:  # pragma: no cover - FORMATS and detect_format agree
        raise AssertionError(kind)


def _read_brat(
    path: Path, lang: str | None, listed: set[Path], repair: int = 0, from_note: str | None = None
) -> Iterator[Document]:
    """A .txt is read with its .ann; an .ann is skipped when its .txt is read too, an error when alone."""
    if base_suffix(path) == ".ann":
        txt = sibling_txt(path)
        if txt is None:
            raise BadInput(path, "BRAT annotations without text", f"no {path.stem}.txt beside it")
        if txt not in listed:
            yield read_brat_document(txt, path, lang=lang, repair=repair, label_from_note=from_note)
        return
    if base_suffix(path) not in BRAT_TEXT_EXTENSIONS:  # e.g. a .jsonl given with fmt="brat": not a BRAT text
        known = " or ".join(sorted(BRAT_TEXT_EXTENSIONS))
        raise BadInput(path, "not a BRAT file", f"BRAT is {known} + .ann; give the format of this file (or auto)")
    yield read_brat_document(path, sibling_ann(path), lang=lang, repair=repair, label_from_note=from_note)


def iter_brat(folder: Path, *, lang: str | None = None, **options: object) -> Iterator[Document]:
    """Every `.txt` under `folder` (recursive, sorted) with its `.ann`; options as for `read_documents`.

    Lives here, not in brat.py: it is `read_documents` with fmt="brat", and brat.py must not import read.py.
    """
    yield from read_documents([folder], "brat", lang=lang, **options)  # type: ignore[arg-type]


def missing_ann(doc: Document) -> bool:
    """Whether `doc` is a BRAT text read without an `.ann` beside it (see `read_brat_document`). Only where it was
    read as BRAT: a JSONL record converted from such a text carries the mark in its meta but has a source of its
    own, whose spans are what they are."""
    source = doc.meta.get("source")
    marked = "brat_ann" in doc.meta and doc.meta["brat_ann"] is None
    return marked and isinstance(source, str) and base_suffix(Path(source)) in BRAT_TEXT_EXTENSIONS


@dataclass
class ReadCounts:
    """What the readers repaired or accepted in a set of documents, summed from their meta marks.

    Why: each repair is right by itself (conlleval's I- rule, MoNERo's empty tags) but a user comparing numbers
    must see how much of the data was read that way, in data_report.json and in `evaluate ner`'s output.
    """

    documents: int = 0
    conll_repairs: int = 0  # I-/E- tags after O or another type that started an entity (IOB2/BIOES files)
    conll_tag_fixes: dict[str, int] = field(default_factory=dict)  # "o" and "" tags read as O
    brat_repairs: int = 0  # spans moved to their text (brat_repair=N)
    missing_ann: list[str] = field(default_factory=list)  # BRAT texts read without an .ann

    def add(self, doc: Document) -> Document:
        """Count `doc`'s marks; returns it, so a stream can be counted as it passes."""
        meta = doc.meta
        self.documents += 1
        self.conll_repairs += int(meta.get("conll_repairs", 0) or 0)
        for tag, n in (meta.get("conll_tag_fixes") or {}).items():
            self.conll_tag_fixes[tag] = self.conll_tag_fixes.get(tag, 0) + n
        self.brat_repairs += len(meta.get("brat_repairs") or ())
        if missing_ann(doc):
            self.missing_ann.append(str(meta.get("source", doc.id)))
        return doc

    def counting(self, docs: Iterable[Document]) -> Iterator[Document]:
        """`docs`, each counted as it is read (predictions are streamed)."""
        for doc in docs:
            yield self.add(doc)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready counts; the first missing-.ann texts are named."""
        return {
            "documents": self.documents,
            "conll_repairs": self.conll_repairs,
            "conll_tag_fixes": dict(self.conll_tag_fixes),
            "brat_repairs": self.brat_repairs,
            "brat_missing_ann": len(self.missing_ann),
            "brat_missing_ann_files": self.missing_ann[:20],
        }


def missing_ann_error(texts: Sequence[str], what: str, fix: str) -> InputError:
    """The error for BRAT texts without their `.ann`, named from the first; `what` says what they would become
    ("training data without entities"), `fix` how to accept them anyway."""
    first = Path(texts[0])
    more = ""
    if len(texts) > 1:
        others = ", ".join(Path(t).name for t in texts[1:4])
        more = f" (and {len(texts) - 1} more text(s) without .ann: {others}{', …' if len(texts) > 4 else ''})"
    return InputError(
        first,
        f"BRAT text without annotations: no {stem(first)}.ann beside it{more}; read as is, it would be {what}. "
        f"Add the .ann (an empty .ann means no entities; a CoNLL file named .txt needs format conll), or {fix}",
    )
