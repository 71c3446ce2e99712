"""`medadapt evaluate screening` (the screening task's own command, attached by commands/evaluate.py from the
registry): score a saved model on labelled notes. The recipe is imported inside, so `medadapt --help` stays instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def evaluate(
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
    from medadapt.tasks.screening.recipe import evaluate_screening

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
