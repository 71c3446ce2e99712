"""`medadapt data split`: a deterministic train/dev/test split for corpora without one (`medadapt.tasks.ner.splits`)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from medadapt.commands.options import NerFormat as Format

app = typer.Typer(help="Prepare task data: deterministic splits.", no_args_is_help=True)


class Unit(StrEnum):
    sentence = "sentence"
    document = "document"


@app.command("split")
def split_command(
    inputs: list[Path] = typer.Argument(..., help="CoNLL files or BRAT folders; several files are split each alone."),
    out: Path = typer.Option(..., "--out", help="Folder for train/dev/test (+ split_report.json)."),
    fractions: str = typer.Option("0.8,0.1,0.1", "--fractions", help="train,dev,test fractions."),
    seed: int = typer.Option(0, "--seed", help="Seed of the hash order: sha256(f'{seed}:{index}')."),
    fmt: Format = typer.Option(Format.auto, "--format", help="Input format (output: the same; BRAT → folders)."),
    label_column: int | None = typer.Option(None, "--label-column", help="CoNLL label column (default: last)."),
    unit: Unit = typer.Option(Unit.sentence, "--unit", help="Split sentences (CoNLL) or whole documents."),
    lang: str | None = typer.Option(None, "--lang", help="Language code stored on the documents."),
) -> None:
    """Split INPUTS deterministically: units ranked by a hash of (seed, index in file), cut by fractions."""
    from medadapt.tasks.ner.splits import output_format, parse_fractions, split_documents, write_split

    values = parse_fractions(fractions)
    result = split_documents(
        inputs, fractions=values, seed=seed, fmt=fmt.value, label_column=label_column, unit=unit.value, lang=lang
    )
    report = write_split(result, out, output_format(result, fmt.value), seed=seed, fractions=values, unit=unit.value)
    for part, counts in report["parts"].items():
        typer.echo(
            f"{part}: {counts['units']} {unit.value}s, {counts['entities']} entities → {report['outputs'][part]}"
        )
