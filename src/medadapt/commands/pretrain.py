"""`medadapt pretrain CONFIG.yaml`: continued masked-language-model pre-training."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command("pretrain")(pretrain_command)


def pretrain_command(
    config: Path = typer.Argument(..., help="Pre-training YAML (see configs/pretrain/ and configs/paper/)."),
    overrides: list[str] = typer.Option([], "--set", help="Override a config value, e.g. --set training.max_steps=50"),
    out: Path | None = typer.Option(None, "--out", help="Output folder (overrides out_dir)."),
    max_steps: int | None = typer.Option(
        None, "--max-steps", help="Optimizer steps of the run (part of the schedule: a resume must keep it)."
    ),
    resume: bool = typer.Option(False, "--resume", help="Continue from the newest intact checkpoint in --out."),
    force: bool = typer.Option(
        False,
        "--force",
        help="Resume even if the model, corpora, batch geometry or optimiser/schedule settings changed; the new "
        "settings apply from the checkpoint's step and are recorded in resolved_config.yaml and log.jsonl.",
    ),
    from_config: bool = typer.Option(
        False, "--from-config", help="Start from scratch with `model.from_config` (must be set in the YAML)."
    ),
    no_progress: bool = typer.Option(False, "--no-progress", help="Plain log lines instead of a progress bar."),
) -> None:
    """Train an encoder further with masked-language modelling on one or more packed corpora.

    Launch on several GPUs/nodes with `accelerate launch -m medadapt.cli pretrain CONFIG.yaml`.
    """
    from medadapt.config import load_config
    from medadapt.errors import ConfigError
    from medadapt.pretrain.config import PretrainConfig
    from medadapt.pretrain.loop import pretrain

    extra = list(overrides)
    if out is not None:
        extra.append(f"out_dir={out}")
    if max_steps is not None:
        extra.append(f"training.max_steps={max_steps}")
    cfg = load_config(PretrainConfig, config, extra)
    if from_config and cfg.model.from_config is None:
        raise ConfigError(f"{config}: --from-config needs a `model.from_config` section")
    if not from_config and cfg.model.from_config is not None:
        typer.echo("note: model.from_config is set, so the model starts from scratch")
    pretrain(cfg, resume=resume, force=force, show_progress=not no_progress)
