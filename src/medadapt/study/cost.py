"""`study run --dry-run`: every job with its state and a cost estimate.

The estimate counts training text (bytes of the training files × epochs, a proxy for subword tokens) per fine-tuning
job. Where jobs of the same task already finished, their measured seconds per byte-epoch turn that into time;
otherwise only the relative size is shown — an honest guess needs one measured run on the machine at hand.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from medadapt.io import expand_inputs
from medadapt.study.config import StudyConfig
from medadapt.study.plan import Job


def _bytes(paths: list[str | None]) -> int:
    return sum(f.stat().st_size for p in paths if p and Path(p).exists() for f in expand_inputs([p]))


def job_size(study: StudyConfig, job: Job) -> float:
    """Byte-epochs of training text for a fine-tuning job (0 for other jobs). The epochs come from the validated
    config (the study was checked before), so a default or a quoted number counts as the run will."""
    from medadapt.study.execute import finetune_config

    if job.kind != "finetune":
        return 0.0
    task = study.tasks[job.spec["task"]]
    setting = job.spec["setting_obj"]
    size = 0.0
    for part in setting.train:
        full = _bytes([task.languages[part.lang].train])
        size += full if part.k is None else full * min(1.0, part.k / max(1, _units(task, part.lang)))
    return size * finetune_config(study, job, write_data=False).training.epochs


def _units(task, lang: str) -> int:
    path = task.languages[lang].train
    files = expand_inputs([path]) if path and Path(path).exists() else []
    return max(1, sum(1 for f in files for _ in open(f, encoding="utf-8", errors="replace")))


def describe(study: StudyConfig, jobs: list[Job], todo: dict[str, str]) -> str:
    """One line per job (done, or todo with why), then the counts and the time estimate. `todo`: the pending
    jobs with their reasons (`plan.pending`)."""
    rates: dict[str, list[float]] = {}
    for job in jobs:
        marker = job.folder / "done.json"
        if job.kind == "finetune" and job.done():
            seconds = json.loads(marker.read_text()).get("seconds")
            size = job_size(study, job)
            if seconds and size:
                rates.setdefault(job.spec["task"], []).append(seconds / size)
    lines, states = [], Counter()
    total_s, unknown = 0.0, 0
    for job in jobs:
        state = "todo" if job.name in todo else "done"
        states[(job.kind, state)] += 1
        estimate = ""
        if job.kind == "finetune" and state == "todo":
            size = job_size(study, job)
            rate = rates.get(job.spec["task"])
            if rate:
                seconds = size * sum(rate) / len(rate)
                total_s += seconds
                estimate = f"≈ {seconds / 60:.1f} min"
            else:
                unknown += 1
                estimate = f"{size / 1e6:.1f} MB·epochs of text"
        parts = [f"{state:4}", job.name, estimate, _why(job, todo.get(job.name))]
        lines.append("  ".join(p for p in parts if p))
    summary = ", ".join(f"{kind} {state}: {n}" for (kind, state), n in sorted(states.items()))
    lines.append(f"\n{len(jobs)} jobs ({summary})")
    if total_s:
        lines.append(f"estimated fine-tuning time of the remaining jobs: ≈ {total_s / 3600:.2f} h (from finished runs)")
    if unknown:
        lines.append(f"{unknown} fine-tuning jobs without a finished run of their task to calibrate: size shown only")
    return "\n".join(lines)


def _why(job: Job, reason: str | None) -> str:
    """Why a job that has a folder will run again, and that its finished results will be moved aside."""
    if reason is None or reason == "new":
        return ""
    if reason.endswith(", which is redone"):  # its folder is redone with (or after) that job's
        return f"({reason})"
    from medadapt.study.execute import holds_results, resumes

    kept = ""
    if resumes(job):
        kept = "; resumes from its checkpoints"
    elif job.folder.exists() and holds_results(job.folder):
        kept = "; its earlier results will be moved aside"
    return f"({reason}{kept})"
