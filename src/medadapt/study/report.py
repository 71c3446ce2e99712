"""The study report: `report.md` plus a self-contained `report.html` (plots embedded) and PNGs in `plots/`.

Sections: the paper-style table (models × tasks, in-language, mean ± sd over seeds with the 95% bootstrap CI and a
mark where the difference to the base survives Holm correction), every paired comparison, the transfer matrices
and heatmaps with gaps, "does further pre-training in language A help the task in language B", bar charts with
CIs, seed spread, and training loss / dev curves. Every number links to the run folders that produced it.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from medadapt.study.config import StudyConfig
from medadapt.tasks.registry import get_task

PLOTS = "plots"


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def _p(value: float) -> str:
    return "–" if value is None or math.isnan(value) else (f"{value:.3f}" if value >= 0.001 else "<0.001")


def _rel(path: str, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def _in_language(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if r["setting"] == r["test_lang"]]


def _cell_index(cells: list[dict[str, Any]]) -> dict[tuple[str, str, str, str], dict[str, Any]]:
    """(task, setting, test_lang, model) → cell: one pass instead of a scan per table cell or plotted point."""
    return {(c["task"], c["setting"], c["test_lang"], c["model"]): c for c in cells}


def _label(study: StudyConfig, model: str) -> str:
    return study.models[model].label or model


def main_table(study: StudyConfig, analysis: dict[str, Any], root: Path) -> list[str]:
    rows = _in_language(analysis["cells"])
    index = _cell_index(rows)
    columns = sorted({(r["task"], r["test_lang"]) for r in rows}, key=lambda c: (list(study.tasks).index(c[0]), c[1]))
    marks = {
        (c["task"], c["test_lang"], c["model"]): c for c in analysis["comparisons"] if c["setting"] == c["test_lang"]
    }
    lines = [
        "| model | " + " | ".join(f"{t} ({lang}) {study.tasks[t].primary_metric()}" for t, lang in columns) + " |",
        "|---|" + "---:|" * len(columns),
    ]
    for model in study.models:
        cells = []
        for task, lang in columns:
            r = index.get((task, lang, lang, model))
            if r is None:
                cells.append("–")
                continue
            comp = marks.get((task, lang, model))
            mark = ""
            if comp and comp["significant"]:
                mark = " ▲" if comp["difference"] > 0 else " ▼"
            link = _rel(str(Path(r["run_dirs"][0]).parent), root)
            cells.append(
                f"[{_fmt(r['seed_mean'])} ± {_fmt(r['seed_sd'])}]({link}) "
                f"[{_fmt(r['ci']['low'])}, {_fmt(r['ci']['high'])}]{mark}"
            )
        bold = "**" if model == study.base else ""
        lines.append(f"| {bold}{_label(study, model)}{bold} | " + " | ".join(cells) + " |")
    return lines


def comparison_table(study: StudyConfig, analysis: dict[str, Any]) -> list[str]:
    lines = [
        "| task | trained on | tested on | model | Δ vs base | 95% CI | p (bootstrap) | p (AR) | p (Holm) | d_z |",
        "|---|---|---|---|---:|---|---:|---:|---:|---:|",
    ]
    for c in analysis["comparisons"]:
        model = _label(study, c["model"])
        lines.append(f"| {c['task']} | {c['setting']} | {c['test_lang']} | {model} | {_paired(c)} |")
    return lines


def _paired(c: dict[str, Any]) -> str:
    """The statistics cells shared by the variant and the task-contrast tables (Δ to d_z)."""
    star = " *" if c["significant"] else ""
    return (
        f"{c['difference']:+.3f}{star} | [{_fmt(c['ci_low'])}, {_fmt(c['ci_high'])}] | {_p(c['p_bootstrap'])} | "
        f"{_p(c['p_ar'])} | {_p(c['p_holm'])} | {_fmt(c['cohens_dz'], 2)}"
    )


def contrast_table(study: StudyConfig, analysis: dict[str, Any]) -> list[str]:
    lines = [
        "| task | against | trained on | tested on | model | Δ | 95% CI | p (bootstrap) | p (AR) | p (Holm) | d_z |",
        "|---|---|---|---|---|---:|---|---:|---:|---:|---:|",
    ]
    for c in analysis.get("contrasts", []):
        lines.append(
            f"| {c['task']} | {c['baseline_task']} | {c['setting']} | {c['test_lang']} | {_label(study, c['model'])} | "
            f"{_paired(c)} |"
        )
    return lines


def transfer_tables(study: StudyConfig, analysis: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for task, data in analysis["transfer"].items():
        langs = data["languages"]
        if len(langs) < 2:
            continue
        for model, view in data["models"].items():
            lines += [
                f"**{task} — {_label(study, model)}** (rows: trained on; columns: tested on; gap vs in-language)",
                "",
                "| trained on | " + " | ".join(langs) + " |",
                "|---|" + "---:|" * len(langs),
            ]
            for setting, row in view["matrix"].items():
                cells = []
                for lang in langs:
                    gap = view["gap_vs_in_language"].get(setting, {}).get(lang)
                    cells.append(_fmt(row[lang]) + (f" ({gap:+.3f})" if gap is not None else ""))
                lines.append(f"| {setting} | " + " | ".join(cells) + " |")
            lines.append("")
    return lines


def cross_language_effect(study: StudyConfig, analysis: dict[str, Any]) -> list[str]:
    """Variant − base per test language, with whether that language was in the variant's pre-training text."""
    lines = [
        "| model | pre-training languages | task | trained on | tested on | test language pre-trained? | Δ vs base |",
        "|---|---|---|---|---|---|---:|",
    ]
    for c in analysis["comparisons"]:
        langs = study.models[c["model"]].languages
        seen = "yes" if c["test_lang"] in langs else ("no" if langs else "?")
        star = " *" if c["significant"] else ""
        lines.append(
            f"| {_label(study, c['model'])} | {', '.join(langs) or '–'} | {c['task']} | {c['setting']} | "
            f"{c['test_lang']} | {seen} | {c['difference']:+.3f}{star} |"
        )
    return lines


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def bar_charts(study: StudyConfig, analysis: dict[str, Any], folder: Path) -> list[Path]:
    plt = _figure()
    out = []
    rows = _in_language(analysis["cells"])
    index = _cell_index(rows)
    for task in study.tasks:
        task_rows = [r for r in rows if r["task"] == task]
        if not task_rows:
            continue
        langs = sorted({r["test_lang"] for r in task_rows})
        models = [m for m in study.models if any(r["model"] == m for r in task_rows)]
        fig, ax = plt.subplots(figsize=(3.6 + 1.2 * len(models) * len(langs), 3.2))
        width = 0.8 / len(models)
        for j, model in enumerate(models):
            xs, ys, lo, hi = [], [], [], []
            for i, lang in enumerate(langs):
                r = index.get((task, lang, lang, model))
                if r is None:
                    continue
                xs.append(i + j * width)
                ys.append(r["seed_mean"])
                lo.append(max(0.0, r["seed_mean"] - r["ci"]["low"]))
                hi.append(max(0.0, r["ci"]["high"] - r["seed_mean"]))
            ax.bar(xs, ys, width, yerr=[lo, hi], capsize=3, label=_label(study, model))
        ax.set_xticks([i + width * (len(models) - 1) / 2 for i in range(len(langs))], langs)
        ax.set_ylabel(study.tasks[task].primary_metric())
        ax.set_title(f"{task}: in-language test (95% bootstrap CI)")
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        fig.tight_layout()
        path = folder / f"bars_{task}.png"
        fig.savefig(path, dpi=110, bbox_inches="tight")  # titles and outside legends stay in the picture
        plt.close(fig)
        out.append(path)
    return out


def heatmaps(study: StudyConfig, analysis: dict[str, Any], folder: Path) -> list[Path]:
    plt = _figure()
    out = []
    for task, data in analysis["transfer"].items():
        langs = data["languages"]
        models = list(data["models"])
        if len(langs) < 2 or not models:
            continue
        fig, axes = plt.subplots(1, len(models), figsize=(2.6 * len(models) + 0.8, 2.9), squeeze=False)
        for ax, model in zip(axes[0], models, strict=True):
            matrix = data["models"][model]["matrix"]
            settings = list(matrix)
            values = [[matrix[s][t] if matrix[s][t] is not None else float("nan") for t in langs] for s in settings]
            image = ax.imshow(values, vmin=0, vmax=1, cmap="viridis")
            for i, row in enumerate(values):
                for j, v in enumerate(row):
                    if not math.isnan(v):
                        ax.text(
                            j,
                            i,
                            f"{v:.2f}",
                            ha="center",
                            va="center",
                            fontsize=7,
                            color="white" if v < 0.6 else "black",
                        )
            ax.set_xticks(range(len(langs)), langs)
            ax.set_yticks(range(len(settings)), settings, fontsize=7)
            ax.set_xlabel("tested on")
            ax.set_title(_label(study, model), fontsize=9)
        axes[0][0].set_ylabel("trained on")
        fig.colorbar(image, ax=axes[0].tolist(), shrink=0.8)
        fig.suptitle(f"{task}: transfer ({study.tasks[task].primary_metric()})", fontsize=10)
        path = folder / f"transfer_{task}.png"
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
        out.append(path)
    return out


def few_shot_curves(study: StudyConfig, analysis: dict[str, Any], folder: Path) -> list[Path]:
    """Target-language score against k added target units (k = 0: zero-shot from the source language alone)."""
    plt = _figure()
    out = []
    ks = sorted(k for k in study.transfer.few_shot if k > 0)
    if not ks:
        return out
    index = _cell_index(analysis["cells"])
    for task, entry in study.tasks.items():
        langs = list(entry.languages)
        pairs = [(s, t) for s in langs for t in langs if s != t]
        if not pairs:
            continue
        fig, axes = plt.subplots(1, len(pairs), figsize=(3.2 * len(pairs) + 1.5, 3.0), squeeze=False)
        for ax, (source, target) in zip(axes[0], pairs, strict=True):
            for model in study.models:
                xs, ys = [], []
                for k, setting in [(0, source), *((k, f"{source}+{k}{target}") for k in ks)]:
                    r = index.get((task, setting, target, model))
                    if r is not None:
                        xs.append(k)
                        ys.append(r["seed_mean"])
                if xs:
                    ax.plot(xs, ys, marker="o", label=_label(study, model))
            ax.set_title(f"{source} → {target}", fontsize=9)
            ax.set_xlabel(f"{target} training units added")
        axes[0][0].set_ylabel(entry.primary_metric())
        axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        fig.suptitle(f"{task}: few-shot transfer (test on the target language)", fontsize=10)
        fig.tight_layout()
        path = folder / f"few_shot_{task}.png"
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
        out.append(path)
    return out


def seed_spread(study: StudyConfig, analysis: dict[str, Any], folder: Path) -> Path | None:
    plt = _figure()
    rows = _in_language(analysis["cells"])
    if not rows:
        return None
    groups = sorted({(r["task"], r["test_lang"]) for r in rows})
    index = _cell_index(rows)
    fig, axes = plt.subplots(1, len(groups), figsize=(2.8 * len(groups) + 0.5, 3.0), squeeze=False)
    for ax, (task, lang) in zip(axes[0], groups, strict=True):
        models = [m for m in study.models if any(r["model"] == m and r["task"] == task for r in rows)]
        for i, model in enumerate(models):
            r = index.get((task, lang, lang, model))
            if r is not None:
                ax.scatter([i] * len(r["values"]), r["values"], s=14)
                ax.hlines(r["seed_mean"], i - 0.25, i + 0.25, color="black", linewidth=1)
        ax.set_xticks(range(len(models)), [_label(study, m) for m in models], rotation=45, ha="right", fontsize=7)
        ax.set_title(f"{task} ({lang})", fontsize=9)
    fig.suptitle("Seed spread (one dot per fine-tuning seed)", fontsize=10)
    fig.tight_layout()
    path = folder / "seed_spread.png"
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def learning_curves(study: StudyConfig, analysis: dict[str, Any], folder: Path) -> list[Path]:
    """Training loss and the dev selection metric per epoch, one line per model (mean over seeds)."""
    plt = _figure()
    out = []
    for task in study.tasks:
        rows = [r for r in _in_language(analysis["cells"]) if r["task"] == task]
        if not rows:
            continue
        fig, (loss_ax, dev_ax) = plt.subplots(1, 2, figsize=(8, 3))
        for model in study.models:
            dirs = [d for r in rows if r["model"] == model for d in r["run_dirs"]]
            curves = [_log(Path(d), get_task(study.tasks[task].type).dev_score) for d in dirs]
            curves = [c for c in curves if c]
            if not curves:
                continue
            n = min(len(c) for c in curves)
            epochs = list(range(1, n + 1))
            loss_ax.plot(
                epochs, [sum(c[i][0] for c in curves) / len(curves) for i in range(n)], label=_label(study, model)
            )
            dev_ax.plot(epochs, [sum(c[i][1] for c in curves) / len(curves) for i in range(n)])
        loss_ax.set_title(f"{task}: training loss", fontsize=9)
        dev_ax.set_title(f"{task}: dev selection metric", fontsize=9)
        loss_ax.set_xlabel("epoch")
        dev_ax.set_xlabel("epoch")
        loss_ax.legend(fontsize=7)
        fig.tight_layout()
        path = folder / f"curves_{task}.png"
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
        out.append(path)
    return out


def _log(run_dir: Path, dev_score: Callable[[dict[str, Any]], float]) -> list[tuple[float, float]]:
    """(training loss, dev selection score) per epoch of one run, the score as its task defines it."""
    path = run_dir / "log.jsonl"
    if not path.is_file():
        return []
    points = []
    for line in path.read_text().splitlines():
        record = json.loads(line)
        if "loss" in record and "dev" in record:
            points.append((float(record["loss"]), dev_score(record["dev"])))
    return points


def build_report(study: StudyConfig, analysis: dict[str, Any]) -> dict[str, Path]:
    root = Path(study.out_dir)
    plots = root / PLOTS
    plots.mkdir(parents=True, exist_ok=True)
    bars, maps, curves = (
        bar_charts(study, analysis, plots),
        heatmaps(study, analysis, plots),
        learning_curves(study, analysis, plots),
    )
    spread = seed_spread(study, analysis, plots)
    few = few_shot_curves(study, analysis, plots)
    n_runs = sum(len(r["seeds"]) for r in analysis["cells"])
    md = [f"# {study.name}: results", ""]
    if study.synthetic:
        md += [
            "> **SYNTHETIC DATA.** Every number below is computed, but on generated demo text and labels, not on "
            "real patients; it shows what the toolkit measures, not how real models perform.",
            "",
        ]
    md += [
        f"Base model: **{_label(study, study.base)}**; models: {', '.join(_label(study, m) for m in study.models)}; "
        f"seeds: {study.seeds}; {n_runs} evaluations. Cells: mean ± sd over seeds, then the "
        f"{round(study.statistics.confidence * 100)}% bootstrap CI over test units (seeds pooled). "
        f"▲/▼: differs from the base after Holm correction (approximate randomisation, α = {study.statistics.alpha}).",
        "",
        "## Main results (in-language)",
        "",
        *main_table(study, analysis, root),
        "",
        *[f"![{p.stem}]({PLOTS}/{p.name})" for p in bars],
        "",
        "## Each variant against the base",
        "",
        "Paired on the same test units; p (AR): approximate randomisation swapping whole units across all seeds; "
        "Holm across every comparison in this table (and the task contrasts, if any); "
        "d_z: mean per-seed difference over its sd.",
        "",
        *comparison_table(study, analysis),
        "",
        *(
            [
                "## Task against task (same model, same test units)",
                "",
                "Each row: the first task's metric minus the second's, paired as above; Holm over this table and "
                "the one above together.",
                "",
                *contrast_table(study, analysis),
                "",
            ]
            if analysis.get("contrasts")
            else []
        ),
        "## Cross-lingual transfer",
        "",
        *transfer_tables(study, analysis),
        *[f"![{p.stem}]({PLOTS}/{p.name})" for p in maps],
        *[f"![{p.stem}]({PLOTS}/{p.name})" for p in few],
        "",
        "### Does further pre-training in one language help the task in another?",
        "",
        *cross_language_effect(study, analysis),
        "",
        "## Seeds and training curves",
        "",
        *([f"![seed spread]({PLOTS}/{spread.name})"] if spread else []),
        *[f"![{p.stem}]({PLOTS}/{p.name})" for p in curves],
        "",
        "Raw numbers: `analysis.json`; each run folder holds its resolved config, log, metrics and predictions.",
    ]
    text = "\n".join(md) + "\n"
    (root / "report.md").write_text(text)
    (root / "report.html").write_text(to_html(text, root, study.name))
    return {"markdown": root / "report.md", "html": root / "report.html"}


def to_html(markdown: str, root: Path, title: str) -> str:
    """Markdown → one HTML file with the PNGs inlined, so it can be mailed or archived as it is."""
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark").enable("table").render(markdown)

    def inline(match: re.Match[str]) -> str:
        path = root / match.group(1)
        if not path.is_file():
            return match.group(0)
        return f'src="data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()}"'

    body = re.sub(r'src="([^"]+\.png)"', inline, body)
    style = (
        "body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;font-size:13px;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 6px}"
        "blockquote{background:#fff3cd;border-left:4px solid #e0a800;margin:0;padding:.5em 1em}img{max-width:100%}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title><style>{style}</style></head>"
        f"<body>{body}</body></html>\n"
    )
