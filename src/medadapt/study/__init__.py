"""The study runner: one declarative file → every pre-training, fine-tuning and evaluation job, cached by content
hash, then statistics and a report. `plan` lists jobs, `execute` runs them, `analysis` computes the numbers,
`report` writes Markdown/HTML/PNG."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from medadapt.config import build_config
from medadapt.errors import InputError
from medadapt.study.config import StudyConfig, load_study
from medadapt.study.execute import run_study


def load_study_folder(folder: str | Path) -> StudyConfig:
    """The study a folder was run with (its `study.json`, paths already absolute)."""
    path = Path(folder) / "study.json"
    if not path.is_file():
        raise InputError(path, "not a study folder: no study.json (run `medadapt study run` first)")
    study = build_config(StudyConfig, json.loads(path.read_text()), source=str(path))
    study.out_dir = str(Path(folder).resolve())
    return study


def evaluation_progress(study: StudyConfig, jobs: list[Any] | None = None) -> tuple[int, int]:
    """(finished, planned) evaluation jobs (of `jobs`, default: the study's plan): what a report can cover."""
    from medadapt.study.plan import plan

    evaluations = [j for j in (plan(study) if jobs is None else jobs) if j.kind == "evaluate"]
    return sum(j.recorded() for j in evaluations), len(evaluations)


def report_study(study: StudyConfig) -> dict[str, Any]:
    """analysis.json and the report from the finished evaluations; the paths, and how many of the planned
    evaluations it covers ("finished", "planned"). A study folder without one finished evaluation is an error,
    not an empty report. The plan is made once (it hashes every input)."""
    from medadapt.study.analysis import analyse, collect
    from medadapt.study.plan import plan
    from medadapt.study.report import build_report

    jobs = plan(study)
    finished, planned = evaluation_progress(study, jobs)
    if not finished:
        what = (
            "no task language has a test set"
            if not planned
            else f"none of {planned} is finished with the study's current inputs and settings"
        )
        raise InputError(
            study.out_dir,
            f"no evaluation to report ({what}); run `medadapt study run` (--dry-run says why each is to do)",
        )
    analysis = analyse(study, collect(study, jobs))
    (Path(study.out_dir) / "analysis.json").write_text(json.dumps(analysis, indent=1, default=float))
    return build_report(study, analysis) | {"finished": finished, "planned": planned}


__all__ = ["StudyConfig", "evaluation_progress", "load_study", "load_study_folder", "report_study", "run_study"]
