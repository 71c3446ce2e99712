"""`medadapt finetune ner CONFIG.yaml`: fine-tune an encoder on a NER corpus (one run per seed).

Heavy imports (torch, transformers) happen inside the command so `medadapt --help` stays instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from medadapt.errors import ConfigError

app = typer.Typer(help="Fine-tune an encoder on a clinical task.", no_args_is_help=True)


OverwriteOption = Annotated[
    bool, typer.Option("--overwrite", help="Replace the run already in the output folder (its outputs are deleted).")
]
ResumeOption = Annotated[
    bool, typer.Option("--resume", help="Keep the seeds already finished in the output folder; run the rest.")
]


def parse_seeds(text: str) -> list[int]:
    """Parse `1,2,3` into [1, 2, 3], with an error that says what was wrong."""
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise ConfigError(f"--seeds {text!r}: give comma-separated integers, e.g. --seeds 1,2,3") from exc
    if not seeds:
        raise ConfigError("--seeds is empty; give comma-separated integers, e.g. --seeds 1,2,3")
    return seeds


def prepare_output(config: Any, *, overwrite: bool, resume: bool) -> None:
    """Before anything is written: a missing model or data file, or a run already in `out_dir` that neither
    `--overwrite` nor `--resume` covers, stops the command in one line; `--overwrite` then clears the old run
    (on the main process; the others wait), after the checks, so a run that cannot start deletes nothing."""
    from rich.markup import escape

    from medadapt.progress import console
    from medadapt.tasks.run_folder import check_inputs, clear_run, refuse_existing_run
    from medadapt.training import process_state

    out = Path(config.out_dir)
    held = refuse_existing_run(out, config.seed_list(), overwrite=overwrite, resume=resume)
    check_inputs(config)
    if held and overwrite:
        state = process_state()
        if state.is_main_process:
            console.print(f"replacing the run in {escape(str(out))}", highlight=False)
            clear_run(out, held)
        state.wait_for_everyone()


@app.command("ner")
def ner(
    config: Annotated[Path, typer.Argument(help="NER fine-tuning YAML (see configs/ner/).")],
    overrides: Annotated[
        list[str] | None, typer.Option("--set", help="Override a config value, e.g. --set training.epochs=5")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Output folder (overrides out_dir).")] = None,
    seeds: Annotated[str | None, typer.Option("--seeds", help="Comma-separated seeds, one run each.")] = None,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bar (logs only).")] = False,
    overwrite: OverwriteOption = False,
    resume: ResumeOption = False,
) -> None:
    """Train a token-classification head (and the encoder) on BRAT/CoNLL/JSONL entities; score dev and test.

    Writes the best model (by dev strict micro-F1), predictions, metrics.json and the resolved config; with
    several seeds one folder per seed plus summary.json (mean ± sd). An output folder that already holds a run
    is refused: --overwrite replaces it, --resume keeps its finished seeds. Several GPUs:
    `accelerate launch -m medadapt.cli finetune ner CONFIG.yaml`.
    """
    import json

    from rich.markup import escape

    from medadapt.config import load_config
    from medadapt.progress import console
    from medadapt.tasks.ner.config import NerConfig
    from medadapt.tasks.ner.recipe import finetune_ner

    extra = list(overrides or [])
    if out is not None:
        extra.append(f"out_dir={out}")
    if seeds is not None:
        extra.append(f"training.seeds={json.dumps(parse_seeds(seeds))}")
    cfg = load_config(NerConfig, config, extra)
    prepare_output(cfg, overwrite=overwrite, resume=resume)
    result = finetune_ner(cfg, show_progress=not no_progress, resume=resume)
    for split in ("dev", "test"):
        if split in result and "f1" in result[split]:
            console.print(f"{split} strict micro-F1: {result[split]['f1']:.4f}")
        elif split in result:
            f1 = result[split]["strict_micro_f1"]
            console.print(f"{split} strict micro-F1: {f1['mean']:.4f} ± {f1['sd']:.4f} over {len(f1['values'])} seeds")
    console.print(f"outputs in {escape(cfg.out_dir)}", highlight=False)


@app.command("screening")
def screening(
    config: Annotated[Path, typer.Argument(help="Screening fine-tuning YAML (see configs/screening/).")],
    overrides: Annotated[
        list[str] | None, typer.Option("--set", help="Override a config value, e.g. --set chunking.strategy=head")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Output folder (overrides out_dir).")] = None,
    seeds: Annotated[str | None, typer.Option("--seeds", help="Comma-separated seeds, one run each.")] = None,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bar (logs only).")] = False,
    overwrite: OverwriteOption = False,
    resume: ResumeOption = False,
) -> None:
    """Train a patient-screening classifier on long notes (chunks pooled to notes and patients); score dev and test.

    Picks the best epoch by dev AUPRC, chooses the threshold on dev (default: 95% sensitivity) and stores it with
    the model; writes metrics with bootstrap CIs, per-patient predictions with the evidence chunks, a reliability
    plot and the resolved config; several seeds: one folder each plus summary.json. An output folder that already
    holds a run is refused: --overwrite replaces it, --resume keeps its finished seeds.
    """
    import json

    from rich.markup import escape

    from medadapt.config import load_config
    from medadapt.progress import console
    from medadapt.tasks.screening.config import ScreeningConfig
    from medadapt.tasks.screening.recipe import finetune_screening

    extra = list(overrides or [])
    if out is not None:
        extra.append(f"out_dir={out}")
    if seeds is not None:
        extra.append(f"training.seeds={json.dumps(parse_seeds(seeds))}")
    cfg = load_config(ScreeningConfig, config, extra)
    prepare_output(cfg, overwrite=overwrite, resume=resume)
    result = finetune_screening(cfg, show_progress=not no_progress, resume=resume)
    if "runs" in result:
        for name, value in result.get("test", {}).items():
            if name in ("auroc", "auprc", "sensitivity", "specificity", "f1", "macro_f1", "micro_f1"):
                console.print(f"test patient {name}: {value['mean']:.4f} ± {value['sd']:.4f} over {value['n']} seeds")
    elif "test" in result:
        patient = result["test"]["patient"]
        shown = [k for k in ("auroc", "auprc", "sensitivity", "specificity", "ppv", "f1", "macro_f1") if k in patient]
        console.print("test patient " + ", ".join(f"{k} {patient[k]:.4f}" for k in shown))
    console.print(f"outputs in {escape(cfg.out_dir)}", highlight=False)
