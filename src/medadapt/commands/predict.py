"""`medadapt predict MODEL_DIR INPUT... --out DIR`: a fine-tuned model over new documents (`medadapt.predict`).

The task is read from the model folder; the command only parses options and prints the engine's counts.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer


class InputFormat(StrEnum):
    auto = "auto"
    text = "text"
    jsonl = "jsonl"
    csv = "csv"
    tsv = "tsv"
    brat = "brat"


def register(app: typer.Typer) -> None:
    app.command("predict")(predict_command)


def predict_command(
    model_dir: Path = typer.Argument(..., help="A fine-tuned model folder (e.g. runs/ner/best-model)."),
    inputs: list[str] = typer.Argument(..., help="Files, folders or globs of documents (BRAT .ann files ignored)."),
    out: Path = typer.Option(..., "--out", help="Output folder; a rerun into it skips what is finished."),
    fmt: InputFormat = typer.Option(InputFormat.auto, "--format", help="Input format (auto: from the extension)."),
    text_field: str = typer.Option("text", "--text-field", help="JSONL field / CSV column of the text."),
    id_field: str = typer.Option("id", "--id-field", help="JSONL field / CSV column of the document id."),
    group_field: str = typer.Option("group", "--group-field", help="Field of the patient id (screening)."),
    lang: str | None = typer.Option(
        None, "--lang", help="Language of documents whose input does not say (NER text normalisation, e.g. ro)."
    ),
    output_format: str | None = typer.Option(
        None, "--output-format", help="NER: brat (default: .txt copy + .ann) or jsonl; screening: jsonl (+ csv)."
    ),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Count and report bad inputs instead of stopping."),
    batch_size: int = typer.Option(64, "--batch-size", help="Documents per chunk (memory, resume granularity)."),
    no_progress: bool = typer.Option(False, "--no-progress", help="No progress bar."),
) -> None:
    """Predict entities (NER) or patient decisions (screening) for new documents with a fine-tuned model.

    NER writes BRAT (<id>.txt + <id>.ann) or predictions.jsonl; screening writes patients.jsonl and
    patients.csv (scores, decision at the model's threshold, evidence offsets, no text).
    """
    from rich.markup import escape

    from medadapt.predict import predict_files
    from medadapt.progress import console

    result = predict_files(
        model_dir,
        inputs,
        out,
        fmt=fmt.value,
        output_format=output_format,
        text_field=text_field,
        id_field=id_field,
        group_field=group_field,
        lang=lang,
        skip_bad=skip_bad,
        batch_size=batch_size,
        show_progress=not no_progress,
    )
    unit = "patients" if result.task == "screening" else "documents"
    line = f"predicted {result.predicted} {unit} ({result.task}) in {result.seconds:.1f}s"
    if result.skipped:
        line += f"; skipped {result.skipped} finished by an earlier run"
    console.print(line, highlight=False)
    if result.bad:
        console.print(f"skipped bad inputs: {escape(result.bad.summary())}", highlight=False)
    console.print(f"outputs in {escape(str(out))}", highlight=False)
