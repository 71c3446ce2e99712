"""`medadapt evaluate ner`: score predicted entities against gold, files in any format `read_documents` reads.

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
from typing import Annotated

import typer

from medadapt.commands.options import NerFormat as Format
from medadapt.documents import Document
from medadapt.errors import ConfigError, InputError

app = typer.Typer(help="Evaluate predictions against gold annotations.", no_args_is_help=True)


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


@app.command("ner")
def ner(
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
        bool, typer.Option("--allow-missing", help="Score gold documents without prediction as predicting nothing.")
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
    from rich.markup import escape

    from medadapt.io import read_documents
    from medadapt.metrics import evaluate_entities

    mapping = load_label_map(label_map) if label_map is not None else None
    wanted = _parse_labels(labels)
    gold_docs = list(
        read_documents(gold, fmt.value, brat_label_from_note=gold_label_from_note and gold_label_from_note.value)
    )
    pred_docs: Iterable[Document] = read_documents(pred, fmt.value)
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
    if report.missing_labels:
        absent = escape(", ".join(report.missing_labels))
        console.print(f"[yellow]warning:[/] labels found in neither gold nor predictions: {absent}")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        inputs = {"gold": str(gold), "pred": str(pred), "format": fmt.value, "pair_by": pair_by.value}
        payload = {"inputs": inputs | {"label_map": mapping, "labels": sorted(wanted) if wanted else None}}
        out.write_text(json.dumps(payload | report.to_dict(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        console.print(f"metrics written to {out}")


@app.command("screening")
def screening(
    model: Annotated[Path, typer.Option("--model", help="A best-model folder written by `finetune screening`.")],
    data: Annotated[Path, typer.Option("--data", help="Labelled notes (JSONL/CSV/folder per label).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for metrics.json, predictions and the plot.")],
    threshold: Annotated[
        float | None, typer.Option("--threshold", help="Operating threshold (default: the model's, chosen on dev).")
    ] = None,
    fields: Annotated[
        list[str] | None,
        typer.Option(
            "--field", help="Override a data field name, e.g. --field text_field=body (as trained otherwise)."
        ),
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Chunks per forward pass.")] = 32,
    top_k: Annotated[int, typer.Option("--top-k", min=0, help="Evidence chunks written per flagged patient.")] = 3,
    write_text: Annotated[
        bool, typer.Option("--write-text", help="Put evidence text in predictions (off: offsets only).")
    ] = False,
) -> None:
    """Score a screening model on labelled notes with its own chunking, pooling and threshold.

    Prints patient-level AUROC, AUPRC, sensitivity, specificity, PPV and NPV; writes metrics.json (patient and note
    level, bootstrap CIs), predictions.jsonl/csv with evidence offsets and reliability_eval.png.
    """
    from medadapt.config import parse_override
    from medadapt.progress import console
    from medadapt.tasks.screening import evaluate_screening

    overrides = {}
    for item in fields or []:
        key, value = parse_override(item)
        overrides[".".join(key)] = value
    result = evaluate_screening(
        model,
        data,
        out,
        threshold=threshold,
        overrides=overrides,
        batch_size=batch_size,
        explain_top_k=top_k,
        write_text=write_text,
    )
    patient = result["eval"]["patient"]
    shown = [k for k in ("auroc", "auprc", "sensitivity", "specificity", "ppv", "npv", "macro_f1") if k in patient]
    console.print("patient " + ", ".join(f"{k} {patient[k]:.4f}" for k in shown))
    console.print(f"metrics and predictions in {out}")
