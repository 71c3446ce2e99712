"""`medadapt demo`: the embedded default job, end to end on synthetic data, on 2 CPU cores in minutes.

Steps, each a real medadapt stage with its normal outputs in the demo folder:
1. generate the synthetic nl/ro/es data (`demo-data`);
2. train a small WordPiece tokenizer on all demo corpora (it plays mBERT's tokenizer);
3. build the clinical, biomedical and general MLM corpora, with the task documents excluded (contamination guard);
4. pre-train the small *general* base model from scratch on the general corpus (it plays mBERT);
5. further pre-train it on clinical, biomedical and mixed corpora (the study's variants, from the packaged presets);
6. print validation perplexity of every model on every domain's held-out text;
7. run the demo study (`medadapt.demo.study`): every model × NER es/ro and screening nl × 3 seeds, zero-shot
   transfer, statistics and the report (`study/report.html`).

The numbers are computed, never fixed; every output says the data are synthetic.
"""

from __future__ import annotations

import json
import math
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any

from medadapt.config import apply_overrides, build_config, read_yaml
from medadapt.progress import console

DOMAINS = ("clinical", "biomedical", "general")
VARIANTS = ("clinical", "biomedical", "mixed")
DEMO_BLOCK_SIZE = 128


def preset_path(name: str) -> Path:
    """A packaged pre-training preset (`src/medadapt/configs/pretrain/<name>.yaml`)."""
    return Path(str(resources.files("medadapt") / "configs" / "pretrain" / f"{name}.yaml"))


def _resolved_preset(name: str, root: Path, overrides: list[str]) -> Any:
    """Load a demo preset and make its relative paths relative to the demo folder."""
    from medadapt.pretrain.config import PretrainConfig

    data = apply_overrides(read_yaml(preset_path(name)), overrides)
    data["out_dir"] = str(root / data["out_dir"])
    for corpus in data["corpora"]:
        corpus["path"] = str(root / corpus["path"])
    model = data.setdefault("model", {})
    if model.get("tokenizer"):
        model["tokenizer"] = str(root / model["tokenizer"])
    if "from_config" not in model and not Path(model.get("name_or_path", "")).is_absolute():
        model["name_or_path"] = str(root / model["name_or_path"])
    return build_config(PretrainConfig, data, source=str(preset_path(name)))


def _evaluate_on_all_domains(model_dir: Path, root: Path) -> dict[str, float]:
    """Perplexity of one model on every domain's validation blocks (same fixed masks for every model)."""
    from medadapt.pretrain.perplexity import corpus_perplexity

    return {domain: corpus_perplexity(model_dir, root / "corpora-built" / domain, max_blocks=64) for domain in DOMAINS}


def run_demo(
    out: Path,
    *,
    seed: int = 0,
    steps_scale: float = 1.0,
    show_progress: bool = True,
    force: bool = False,
    study: bool = True,
) -> dict[str, Any]:
    """Run the demo into `out`; returns the perplexity table (and the report paths). Reruns skip finished stages
    and finished study runs."""
    out = Path(out)
    _data_and_tokenizer(out, seed, force=force, show_progress=show_progress)
    _corpora(out, seed, force=force, show_progress=show_progress)
    pretrained = partial(_pretrained, out=out, seed=seed, steps_scale=steps_scale, force=force, show=show_progress)
    console.rule("4/6 general base model (stands in for mBERT)")
    models = {"base": pretrained("demo-base")}
    console.rule("5/6 further pre-training: clinical, biomedical, mixed")
    for variant in VARIANTS:
        models[variant] = pretrained(f"demo-{variant}")
    table = {name: _evaluate_on_all_domains(path, out) for name, path in models.items()}
    (out / "perplexity.json").write_text(json.dumps(table, indent=1))
    _print_table(table)
    if not study:
        return table
    console.rule("6/6 the study: fine-tuning × tasks × languages × seeds, statistics, report")
    paths = _study(out, models)
    return {"perplexity": table, "report": {k: str(v) for k, v in paths.items()}}


def _data_and_tokenizer(out: Path, seed: int, *, force: bool, show_progress: bool) -> None:
    """Steps 1 and 2: the synthetic data in `out/data` and the tokenizer trained on its corpora, unless there."""
    from medadapt.corpus import train_tokenizer
    from medadapt.demo import generate_demo_data

    data = out / "data"
    if force or not (data / "manifest.json").is_file():
        console.rule("1/6 synthetic demo data")
        generate_demo_data(data, seed=seed, size="small", show_progress=show_progress)
    tokenizer = out / "tokenizer"
    if force or not (tokenizer / "tokenizer.json").is_file():
        console.rule("2/6 tokenizer")
        train_tokenizer([str(data / "corpora" / d) for d in DOMAINS], tokenizer, vocab_size=8000)


def _corpora(out: Path, seed: int, *, force: bool, show_progress: bool) -> None:
    """Step 3: one MLM corpus per domain in `out/corpora-built`, the task documents excluded (each built once)."""
    from medadapt.corpus import CorpusBuildConfig, build_corpus

    data = out / "data"
    console.rule("3/6 MLM corpora (task documents excluded)")
    for domain in DOMAINS:
        target = out / "corpora-built" / domain
        if not force and (target / "manifest.json").is_file():
            continue
        stats = build_corpus(
            CorpusBuildConfig(
                inputs=[str(data / "corpora" / domain)],
                tokenizer=str(out / "tokenizer"),
                out=str(target),
                block_size=DEMO_BLOCK_SIZE,
                val_fraction=0.02,
                seed=seed,
                exclude=[str(data / "ner"), str(data / "screening")],
            ),
            show_progress=show_progress,
        )
        console.print(f"{domain}: {_kept(stats)} documents kept, {_tokens(stats):,} tokens")


def _pretrained(preset: str, *, out: Path, seed: int, steps_scale: float, force: bool, show: bool) -> Path:
    """Steps 4 and 5: the model of one packaged preset, its steps scaled; pre-trained (or resumed) unless done."""
    from medadapt.pretrain.loop import pretrain

    steps = max(1, math.ceil(_steps(preset) * steps_scale))
    cfg = _resolved_preset(preset, out, [f"training.max_steps={steps}", f"training.seed={seed}"])
    if force or not (Path(cfg.out_dir) / "model" / "config.json").is_file():
        pretrain(cfg, resume=(Path(cfg.out_dir) / "checkpoints").exists(), show_progress=show)
    return Path(cfg.out_dir) / "model"


def _study(out: Path, models: dict[str, Path]) -> dict[str, Any]:
    """Step 6: the demo study over `models`, run (finished runs reused) and reported; returns the report paths."""
    from medadapt.demo.study import demo_study
    from medadapt.study import report_study, run_study

    config = demo_study(out, models)
    counts = run_study(config)
    paths = report_study(config)
    console.print(f"{counts['run']} study jobs run, {counts['skipped']} reused")
    console.print(f"[bold]report: {paths['html']}[/] (and {paths['markdown']})")
    return paths


def _steps(preset: str) -> int:
    return int(read_yaml(preset_path(preset))["training"]["max_steps"])


def _kept(stats: dict[str, Any]) -> int:
    return int(stats["documents"]["kept"])


def _tokens(stats: dict[str, Any]) -> int:
    return int(stats["totals"]["tokens"])


def _print_table(table: dict[str, dict[str, float]]) -> None:
    from rich.table import Table

    view = Table(title="Validation perplexity (lower is better) — SYNTHETIC demo data")
    view.add_column("model")
    for domain in DOMAINS:
        view.add_column(f"{domain} text", justify="right")
    for name, row in table.items():
        best = {d: min(table[m][d] for m in table) for d in DOMAINS}
        cells = [f"[bold]{row[d]:.1f}[/]" if row[d] == best[d] else f"{row[d]:.1f}" for d in DOMAINS]
        view.add_row(name, *cells)
    console.print(view)
