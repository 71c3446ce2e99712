"""`medadapt demo-data` (and later `medadapt demo`): the embedded default.

The generator is imported inside the command body so `medadapt --help` stays instant.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


class DemoSize(StrEnum):
    small = "small"
    medium = "medium"


def demo_data(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write into (new, empty, or a previous demo-data output).")],
    seed: Annotated[int, typer.Option("--seed", help="Random seed; the same seed gives byte-identical files.")] = 0,
    size: Annotated[
        DemoSize, typer.Option("--size", help="small: minutes-scale CPU demo study; medium: about 10x more.")
    ] = DemoSize.small,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Write the SYNTHETIC multilingual (nl, ro, es) demo data: pre-training corpora (clinical, biomedical,
    general), an NER task (BRAT) and a patient-screening task (JSONL), with README.md and manifest.json."""
    import time

    from rich.console import Console
    from rich.table import Table

    from medadapt.demo import generate_demo_data

    start = time.perf_counter()
    manifest = generate_demo_data(out_dir, seed=seed, size=size.value, show_progress=not quiet)
    elapsed = time.perf_counter() - start

    table = Table(title=f"Synthetic demo data in {out_dir} (seed {seed}, size {size.value})")
    for column in ("path", "documents", "detail"):
        table.add_column(column, justify="right" if column == "documents" else "left")
    for rel, info in manifest["files"].items():
        if "entities" in info:
            detail = f"{info['entities']} entities"
        elif "patients" in info:
            detail = f"{info['patients']} patients, {info['positive_patients']} positive"
        else:
            detail = f"{info['words']:,} words"
        table.add_row(rel, f"{info['documents']:,}", detail)
    console = Console()
    console.print(table)
    console.print(f"written in {elapsed:.1f} s; see {Path(out_dir) / 'README.md'}")


def demo(
    out: Annotated[Path, typer.Option("--out", help="Demo folder (created; reruns skip finished stages).")] = Path(
        "demo-out"
    ),
    seed: Annotated[int, typer.Option("--seed", help="Seed for data, masks and training.")] = 0,
    steps_scale: Annotated[
        float, typer.Option("--steps-scale", help="Multiply every preset's training steps (e.g. 0.1 for a smoke run).")
    ] = 1.0,
    force: Annotated[bool, typer.Option("--force", help="Redo every stage, even finished ones.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
    no_study: Annotated[bool, typer.Option("--no-study", help="Stop after pre-training (perplexity table).")] = False,
) -> None:
    """Run the embedded default on SYNTHETIC data: demo data, tokenizer, corpora, a general base model and its
    clinical / biomedical / mixed further pre-trained variants, a perplexity table per domain, then the demo study
    (NER es/ro and screening nl × 4 models × 3 seeds, transfer, statistics) and its report."""
    from medadapt.demo.pipeline import run_demo

    result = run_demo(out, seed=seed, steps_scale=steps_scale, show_progress=not quiet, force=force, study=not no_study)
    if "report" in result:
        typer.echo(f"demo report: {result['report']['html']} (Markdown: {result['report']['markdown']})")
    else:
        typer.echo(f"demo outputs in {out}/ (perplexity.json, runs/pretrain/*/loss_curve.png)")


def register(app: typer.Typer) -> None:
    """Attach the demo commands to the root app."""
    app.command("demo-data")(demo_data)
    app.command("demo")(demo)
