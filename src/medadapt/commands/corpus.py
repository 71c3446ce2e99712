"""`medadapt corpus ...` and `medadapt tokenizer ...` commands (filled in by the corpus builder work)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Build and inspect MLM pre-training corpora.", no_args_is_help=True)
tokenizer_app = typer.Typer(help="Train or inspect tokenizers.", no_args_is_help=True)
