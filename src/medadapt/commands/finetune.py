"""`medadapt finetune <task> CONFIG.yaml`: fine-tune an encoder on a task (one run per seed), one sub-command per
task of the registry, all with the same options; the task answers what its config is, how it trains and what it
prints (`medadapt.tasks.protocol`).

Heavy imports (torch, transformers) happen inside the command so `medadapt --help` stays instant.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from medadapt.errors import ConfigError
from medadapt.tasks.registry import command_help, task_names

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


def prepare_output(config: Any, *, overwrite: bool, resume: bool, task: Any) -> None:
    """Before anything is written: a missing model or data file, or a run already in `out_dir` that neither
    `--overwrite` nor `--resume` covers, stops the command in one line; `--overwrite` then clears the old run
    (on the main process; the others wait), after the checks, so a run that cannot start deletes nothing."""
    from rich.markup import escape

    from medadapt.progress import console
    from medadapt.tasks.run_folder import clear_run, refuse_existing_run
    from medadapt.training import process_state

    out = Path(config.out_dir)
    held = refuse_existing_run(out, config.seed_list(), overwrite=overwrite, resume=resume)
    task.preflight(config)
    if held and overwrite:
        state = process_state()
        if state.is_main_process:
            console.print(f"replacing the run in {escape(str(out))}", highlight=False)
            clear_run(out, held)
        state.wait_for_everyone()


def finetune_command(name: str) -> Callable[..., None]:
    """The `finetune <name>` command: load the task's config, check the output folder, run every seed, print the
    task's headline lines."""

    def command(
        config: Annotated[Path, typer.Argument(help="The task's fine-tuning YAML (see configs/<task>/).")],
        overrides: Annotated[
            list[str] | None, typer.Option("--set", help="Override a config value, e.g. --set training.epochs=5")
        ] = None,
        out: Annotated[Path | None, typer.Option("--out", help="Output folder (overrides out_dir).")] = None,
        seeds: Annotated[str | None, typer.Option("--seeds", help="Comma-separated seeds, one run each.")] = None,
        no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bar (logs only).")] = False,
        overwrite: OverwriteOption = False,
        resume: ResumeOption = False,
    ) -> None:
        import json

        from rich.markup import escape

        from medadapt.config import load_config
        from medadapt.progress import console
        from medadapt.tasks.registry import get_task

        task = get_task(name)
        extra = list(overrides or [])
        if out is not None:
            extra.append(f"out_dir={out}")
        if seeds is not None:
            extra.append(f"training.seeds={json.dumps(parse_seeds(seeds))}")
        cfg = load_config(task.config_class(), config, extra)
        prepare_output(cfg, overwrite=overwrite, resume=resume, task=task)
        result = task.finetune(cfg, show_progress=not no_progress, resume=resume)
        for line in task.result_lines(result):
            console.print(line)
        console.print(f"outputs in {escape(cfg.out_dir)}", highlight=False)

    command.__doc__ = command_help(name) + (
        "\n\nAn output folder that already holds a run is refused: --overwrite replaces it, --resume keeps its "
        f"finished seeds. Several GPUs: `accelerate launch -m medadapt.cli finetune {name} CONFIG.yaml`."
    )
    return command


for _name in task_names():
    app.command(_name)(finetune_command(_name))
