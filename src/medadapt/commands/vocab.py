"""`medadapt vocab extend|trim`: change an encoder's vocabulary and save a matching model + tokenizer folder."""

from __future__ import annotations

import json
from pathlib import Path

import typer

app = typer.Typer(help="Extend or trim an encoder's vocabulary (model + tokenizer stay a matching pair).")


@app.command("extend")
def extend_command(
    model: str = typer.Argument(..., help="Model folder (or hub id) with its tokenizer."),
    inputs: list[Path] = typer.Argument(..., help="Corpus text files/folders (txt, jsonl, csv; gzip ok)."),
    out: Path = typer.Option(..., "--out", help="Folder for the extended model + tokenizer."),
    top_k: int = typer.Option(1000, "--top-k", help="How many words to add."),
    min_pieces: int = typer.Option(3, "--min-pieces", help="Only words the tokenizer splits into ≥ this many."),
) -> None:
    """Add the most frequent corpus words that the tokenizer over-splits; new rows = mean of their pieces.

    Rebuild the corpus with the new tokenizer (`medadapt corpus build --tokenizer OUT`) before pre-training.
    """
    from medadapt.io import read_documents
    from medadapt.pretrain.vocab import extend_vocabulary, load_pair

    mlm, tokenizer = load_pair(model)
    texts = (doc.text for doc in read_documents(inputs))
    report = extend_vocabulary(mlm, tokenizer, texts, out, top_k=top_k, min_pieces=min_pieces)
    (out / "vocab_extension.json").write_text(json.dumps(report, indent=1, ensure_ascii=False))
    typer.echo(
        f"added {report['added']} words ({report['tokenizer_size_before']} → {report['tokenizer_size_after']} "
        f"tokens); model and tokenizer written to {out}"
    )


@app.command("trim")
def trim_command(
    model: str = typer.Argument(..., help="Model folder (or hub id) with its tokenizer."),
    corpora: list[Path] = typer.Argument(..., help="Corpus folders built by `medadapt corpus build` with it."),
    out: Path = typer.Option(..., "--out", help="Folder for the trimmed model + tokenizer."),
    keep_single_chars: bool = typer.Option(
        True, "--keep-single-chars/--no-keep-single-chars", help="Keep all 1-character pieces (no [UNK] later)."
    ),
) -> None:
    """Keep only the pieces the corpora use (+ specials); the corpus text tokenizes identically afterwards."""
    from medadapt.errors import ConfigError
    from medadapt.pretrain.data import open_packed_corpus, tokenizer_vocab_hash
    from medadapt.pretrain.vocab import corpus_token_counts, load_pair, trim_plan, trim_vocabulary

    mlm, tokenizer = load_pair(model)
    for path in corpora:
        if open_packed_corpus(path).vocab_hash != tokenizer_vocab_hash(tokenizer):
            raise ConfigError(f"corpus {path} was not built with the tokenizer of {model}")
    counts = corpus_token_counts(corpora, mlm.get_input_embeddings().weight.shape[0])
    keep = trim_plan(tokenizer, counts, keep_single_chars=keep_single_chars)
    report = trim_vocabulary(mlm, tokenizer, keep, out)
    (out / "vocab_trim.json").write_text(json.dumps(report, indent=1))
    typer.echo(
        f"kept {report['kept']} of {report['tokenizer_size_before']} tokens; removed "
        f"{report['parameters_removed']:,} embedding parameters; written to {out}. "
        "Rebuild the corpora with this tokenizer before pre-training."
    )
