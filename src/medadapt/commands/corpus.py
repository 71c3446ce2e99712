"""`medadapt corpus build` and `medadapt tokenizer train`: parse flags, merge them over the YAML config, call one
function (`build_corpus` / `train_tokenizer`) and print a summary. Heavy imports stay inside the command bodies so
`medadapt --help` stays instant.

Flags given on the command line override the config file and `--set` overrides; flags not given leave the config
alone (hence the `None` defaults). Repeatable options: `--exclude A --exclude B`, `--lang nl --lang es` (a
comma-separated list works too: `--lang nl,es`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from medadapt.progress import console

app = typer.Typer(help="Build and inspect MLM pre-training corpora.", no_args_is_help=True)
tokenizer_app = typer.Typer(help="Train or inspect tokenizers.", no_args_is_help=True)


def _split_commas(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


@app.command("build")
def build(
    inputs: list[str] = typer.Argument(None, help="Files, folders or globs (any reader format)."),
    tokenizer: str | None = typer.Option(None, "--tokenizer", help="Fast tokenizer: local folder or hub id."),
    out: Path | None = typer.Option(None, "--out", help="Output folder for shards, manifest and stats."),
    block_size: int | None = typer.Option(None, "--block-size", help="Tokens per block incl. [CLS]/[SEP] (512)."),
    val_fraction: float | None = typer.Option(None, "--val-fraction", help="Share of documents held out (0.01)."),
    config: Path | None = typer.Option(None, "--config", help="corpus.yaml (CorpusBuildConfig)."),
    overrides: list[str] = typer.Option(None, "--set", help="Config override key.path=value (repeatable)."),
    exclude: list[str] = typer.Option(None, "--exclude", help="Evaluation set that must not leak (repeatable)."),
    skip_bad: bool | None = typer.Option(None, "--skip-bad/--no-skip-bad", help="Count and skip bad input."),
    one_per_line: bool | None = typer.Option(
        None, "--one-per-line/--one-per-file", help="Plain text: each line is a document (default: each file)."
    ),
    lang: list[str] = typer.Option(None, "--lang", help="Keep only these languages (repeatable or comma list)."),
    cross_doc: bool | None = typer.Option(None, "--cross-doc/--no-cross-doc", help="Let blocks span documents."),
    workers: int | None = typer.Option(None, "--workers", help="Tokenizer processes (0 = in-process threads)."),
    seed: int | None = typer.Option(None, "--seed", help="Seed of the validation split."),
    allow_empty: bool = typer.Option(
        False, "--allow-empty", help="Write the corpus even if it has no training blocks (else an error)."
    ),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bars or summary table."),
) -> None:
    """Clean, filter, deduplicate, decontaminate, tokenize and pack text into memory-mapped MLM shards."""
    from medadapt.config import build_config, load_config
    from medadapt.corpus import CorpusBuildConfig, build_corpus
    from medadapt.corpus.build import empty_corpus_problem

    cfg = load_config(CorpusBuildConfig, config, overrides or [])
    flags: dict[str, Any] = {
        "inputs": list(inputs) if inputs else None,
        "tokenizer": tokenizer,
        "out": str(out) if out is not None else None,
        "block_size": block_size,
        "val_fraction": val_fraction,
        "exclude": list(exclude) if exclude else None,
        "skip_bad": skip_bad,
        "one_per_line": one_per_line,
        "languages": _split_commas(lang),
        "cross_doc_boundaries": cross_doc,
        "workers": workers,
        "seed": seed,
    }
    given = {k: v for k, v in flags.items() if v is not None}
    if given:
        cfg = build_config(CorpusBuildConfig, cfg.model_dump() | given, source="command line")
    stats = build_corpus(cfg, show_progress=not quiet, allow_empty=allow_empty)
    if not quiet:
        print_summary(stats)
    console.print(f"corpus written to {escape(str(cfg.out))} ({stats['totals']['blocks']:,} blocks)", highlight=False)
    if stats["bad_input"]["count"]:
        console.print(f"[yellow]{escape(stats['bad_input']['summary'])}[/]", highlight=False)
    problem = empty_corpus_problem(stats)
    if problem is not None:  # written anyway because of --allow-empty; pre-training will refuse it
        console.print(f"[yellow]warning: {escape(problem)}[/]", highlight=False)


def print_summary(stats: dict[str, Any]) -> None:
    """The stats.md tables, as rich tables on the terminal."""
    from rich.table import Table

    from medadapt.corpus.stats import removal_rows

    steps = Table(title="documents per step")
    steps.add_column("step")
    steps.add_column("documents", justify="right")
    for step, n in removal_rows(stats):
        steps.add_row(step, f"{n:,}")
    console.print(steps)
    splits = Table(title="output")
    for column in ("split", "documents", "blocks", "tokens"):
        splits.add_column(column, justify="left" if column == "split" else "right")
    for name, s in stats["splits"].items():
        splits.add_row(name, f"{s['documents']:,}", f"{s['n_blocks']:,}", f"{s['n_tokens']:,}")
    console.print(splits)
    fert = Table(title="fertility (tokens per word)")
    for column in ("language", "documents", "words", "tokens", "fertility"):
        fert.add_column(column, justify="left" if column == "language" else "right")
    for lang_code, f in stats["fertility"].items():
        fert.add_row(lang_code, f"{f['documents']:,}", f"{f['words']:,}", f"{f['tokens']:,}", f"{f['fertility']:.3f}")
    console.print(fert)
    top = stats["split_words"]["top"][:10]
    if top:
        console.print(
            "most split words: " + ", ".join(f"{w['word']} ({w['count']}×, {w['pieces']} pieces)" for w in top),
            highlight=False,
        )


@tokenizer_app.command("train")
def train(
    inputs: list[str] = typer.Argument(..., help="Files, folders or globs of training text."),
    out: Path = typer.Option(..., "--out", help="Folder to save the tokenizer in."),
    vocab_size: int = typer.Option(..., "--vocab-size", help="Target vocabulary size."),
    model_type: str = typer.Option("wordpiece", "--type", help="wordpiece or unigram."),
    lowercase: bool = typer.Option(False, "--lowercase/--cased", help="Lower-case (and strip accents) or not."),
    min_frequency: int = typer.Option(2, "--min-frequency", help="WordPiece: minimum pair frequency."),
    max_length: int = typer.Option(512, "--model-max-length", help="model_max_length in tokenizer_config."),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Count and skip bad input instead of stopping."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress output."),
) -> None:
    """Train a BERT-style fast tokenizer that AutoTokenizer.from_pretrained(OUT) loads offline."""
    from medadapt.corpus import train_tokenizer
    from medadapt.io import BadInputReport

    report = BadInputReport()
    path = train_tokenizer(
        inputs,
        out,
        vocab_size=vocab_size,
        model_type=model_type,  # type: ignore[arg-type]
        lowercase=lowercase,
        min_frequency=min_frequency,
        model_max_length=max_length,
        skip_bad=skip_bad,
        report=report,
        show_progress=not quiet,
    )
    console.print(f"tokenizer saved to {path}", highlight=False)
    if report.count:
        console.print(f"[yellow]{report.summary()}[/]", highlight=False)
