"""`medadapt evaluate ner`: score predicted entities against gold, files in any format `read_documents` reads
(the NER task's own command, attached by commands/evaluate.py from the registry).

Documents are paired by id (BRAT: file name; JSONL: the id field). CoNLL ids come from the file name, so two
different CoNLL files never share ids: `--pair-by order` pairs documents in reading order instead (the text
check still catches a misalignment). The metrics are imported inside the command so `medadapt --help` stays
instant.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from medadapt.commands.options import NerFormat as Format
from medadapt.documents import Document
from medadapt.errors import ConfigError, InputError

if TYPE_CHECKING:
    from medadapt.io.read import ReadCounts
    from medadapt.metrics import EntityReport


class NoteLabel(StrEnum):
    last_field = "last_field"
    umls_group = "umls_group"


class PairBy(StrEnum):
    id = "id"
    order = "order"


def load_label_map(path: Path) -> dict[str, str | None]:
    """A YAML mapping `original: evaluated` (null drops the type); labels not listed are kept as they are."""
    from medadapt.config import read_yaml

    data = read_yaml(path)
    for key, value in data.items():
        if not isinstance(key, str) or not (value is None or isinstance(value, str)):
            raise ConfigError(
                f"{path}: label map entry {key!r}: {value!r} must map a label to a label or null "
                "(quote labels YAML reads as booleans or numbers, e.g. 'NO')"
            )
    return data


def _parse_labels(labels: str | None) -> set[str] | None:
    if labels is None:
        return None
    parsed = {label.strip() for label in labels.split(",") if label.strip()}
    if not parsed:
        raise ConfigError("--labels is empty; give comma-separated types, e.g. --labels DISO,PROC")
    return parsed


def _in_gold_order(gold: list[Document], pred: Iterable[Document], pred_path: Path) -> Iterator[Document]:
    """Give the n-th predicted document the n-th gold document's id."""
    count = 0
    for count, doc in enumerate(pred, 1):
        if count > len(gold):
            raise InputError(pred_path, f"more predicted documents than the {len(gold)} gold documents")
        doc.id = gold[count - 1].id
        yield doc
    if count < len(gold):
        raise InputError(pred_path, f"{count} predicted documents but {len(gold)} gold documents")


def evaluate(
    gold: Annotated[Path, typer.Option("--gold", help="Gold annotations: file, folder or glob.")],
    pred: Annotated[Path, typer.Option("--pred", help="Predictions over the same texts: file, folder or glob.")],
    fmt: Annotated[Format, typer.Option("--format", help="Input format of both sides (auto: per file).")] = Format.auto,
    labels: Annotated[
        str | None, typer.Option("--labels", help="Only these comma-separated types (after --label-map).")
    ] = None,
    label_map: Annotated[
        Path | None, typer.Option("--label-map", help="YAML mapping old: new (null drops a type), both sides.")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the metrics as JSON here.")] = None,
    allow_missing: Annotated[
        bool,
        typer.Option(
            "--allow-missing",
            help="Score gold documents without prediction (absent, or a BRAT .txt without .ann) as predicting nothing.",
        ),
    ] = False,
    allow_missing_gold_ann: Annotated[
        bool,
        typer.Option("--allow-missing-gold-ann", help="Read gold BRAT texts without .ann as having no entities."),
    ] = False,
    pair_by: Annotated[
        PairBy, typer.Option("--pair-by", help="Pair documents by id, or by reading order (CoNLL files).")
    ] = PairBy.id,
    gold_label_from_note: Annotated[
        NoteLabel | None,
        typer.Option(
            "--gold-label-from-note",
            help="BRAT gold: take each entity's label from its AnnotatorNotes (Mantra GSC: umls_group).",
        ),
    ] = None,
) -> None:
    """Entity P/R/F1 per type, strict (exact span and type) and lenient (overlap, same type), micro and macro."""
    from rich.console import Console

    from medadapt.io import read_documents
    from medadapt.io.read import ReadCounts, missing_ann_error
    from medadapt.metrics import evaluate_entities

    mapping = load_label_map(label_map) if label_map is not None else None
    wanted = _parse_labels(labels)
    counts = {"gold": ReadCounts(), "pred": ReadCounts()}
    note = gold_label_from_note and gold_label_from_note.value
    gold_docs = list(
        counts["gold"].counting(read_documents(gold, fmt.value, brat_label_from_note=note, annotated=True))
    )
    if counts["gold"].missing_ann and not allow_missing_gold_ann:
        fix = "pass --allow-missing-gold-ann to read such texts as having no entities"
        raise missing_ann_error(counts["gold"].missing_ann, "gold without entities", fix)
    pred_docs: Iterable[Document] = _predictions(
        read_documents(pred, fmt.value, annotated=True), counts["pred"], allow_missing
    )
    if pair_by is PairBy.order:
        pred_docs = _in_gold_order(gold_docs, pred_docs, pred)
    report = evaluate_entities(
        gold_docs,
        pred_docs,
        labels=wanted,
        label_map=mapping,
        allow_missing=allow_missing,
        names=(str(gold), str(pred)),
    )
    console = Console()
    if not console.is_terminal:  # logs and pipes: do not squeeze the table into rich's default 80 columns
        console = Console(width=max(console.width, 120))
    console.print(report.table(title=f"{pred} vs {gold} ({report.documents} documents)"))
    warnings = _warnings(report, gold_docs, counts, filtered=bool(wanted or mapping))
    for line in _reading_notes(counts):
        _say(console, "note", line)
    for line in warnings:
        _say(console, "warning", line)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        inputs = {"gold": str(gold), "pred": str(pred), "format": fmt.value, "pair_by": pair_by.value}
        payload = {"inputs": inputs | {"label_map": mapping, "labels": sorted(wanted) if wanted else None}}
        payload |= {"reading": {side: c.to_dict() for side, c in counts.items()}, "warnings": warnings}
        out.write_text(json.dumps(payload | report.to_dict(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        console.print(f"metrics written to {out}")


def _say(console: Any, kind: str, line: str) -> None:
    """One line, never wrapped: a warning a user greps for must not be split by the console width."""
    from rich.markup import escape

    colour = "yellow" if kind == "warning" else "cyan"
    console.print(f"[{colour}]{kind}:[/] {escape(line)}", soft_wrap=True)


def _predictions(docs: Iterable[Document], counts: ReadCounts, allow_missing: bool) -> Iterator[Document]:
    """The predicted documents, counted; a BRAT text without .ann is a missing prediction (needs --allow-missing)."""
    from medadapt.io.read import missing_ann, missing_ann_error

    for doc in counts.counting(docs):
        if missing_ann(doc) and not allow_missing:
            fix = "pass --allow-missing to score such texts as predicting nothing"
            raise missing_ann_error([str(doc.meta.get("source", doc.id))], "a prediction of no entities", fix)
        yield doc


def _warnings(report: EntityReport, gold: list[Document], counts: dict[str, ReadCounts], filtered: bool) -> list[str]:
    """What makes the scores mean less than they seem, one line each (also written to the metrics json)."""
    out = []
    if report.missing_labels:
        out.append(f"labels found in neither gold nor predictions: {', '.join(report.missing_labels)}")
    if report.strict.micro.support == 0:
        raw = sum(len(d.spans) for d in gold)
        after = f" after --labels/--label-map ({raw} before)" if filtered and raw else ""
        out.append(
            f"the gold annotations hold no entities{after}: every recall and F1 is 0 "
            "(are --gold, --format and --gold-label-from-note right?)"
        )
    if report.strict.micro.predicted == 0 and report.strict.micro.support:
        out.append("the predictions hold no entities: every precision is 0 (are --pred and --format right?)")
    if counts["gold"].missing_ann:
        n = len(counts["gold"].missing_ann)
        out.append(f"{n} gold text(s) without .ann read as having no entities (--allow-missing-gold-ann)")
    if counts["pred"].missing_ann:
        n = len(counts["pred"].missing_ann)
        out.append(f"{n} predicted text(s) without .ann scored as predicting nothing (--allow-missing)")
    unpredicted = len(gold) - counts["pred"].documents
    if unpredicted > 0:
        out.append(f"{unpredicted} gold document(s) without prediction scored as predicting nothing (--allow-missing)")
    return out


def _reading_notes(counts: dict[str, ReadCounts]) -> list[str]:
    """What the readers repaired on each side (conlleval's I- rule, tags read as O), so it is never silent."""
    out = []
    for side, c in counts.items():
        if c.conll_repairs:
            out.append(
                f"{side}: {c.conll_repairs} I- tag(s) after O or another type started an entity (conlleval repair)"
            )
        fixes = sum(c.conll_tag_fixes.values())
        if fixes:
            shown = ", ".join(f"{tag!r}: {n}" for tag, n in sorted(c.conll_tag_fixes.items()))
            out.append(f"{side}: {fixes} tag(s) read as O ({shown})")
    return out
