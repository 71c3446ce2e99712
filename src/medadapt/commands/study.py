"""`medadapt study run STUDY.yaml` and `medadapt study report DIR`: the comparison grid, cached, and its report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from medadapt.study.config import StudyConfig

app = typer.Typer(
    help="Run a declarative study (models × tasks × languages × seeds) and report it.", no_args_is_help=True
)


@app.command("run")
def run(
    study_file: Annotated[Path, typer.Argument(help="Study YAML (see configs/paper/study.yaml).")],
    overrides: Annotated[
        list[str] | None, typer.Option("--set", help="Override a study value, e.g. --set seeds=[1]")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Study folder (overrides out_dir).")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check the study, list the jobs and their state; run or write nothing.")
    ] = False,
    no_report: Annotated[bool, typer.Option("--no-report", help="Do not write the report at the end.")] = False,
) -> None:
    """Pre-train each variant once, fine-tune every (task, model, setting, seed), evaluate on every test language,
    then write analysis.json and the report. Finished jobs are skipped; broken ones are redone."""
    from medadapt.progress import console
    from medadapt.study import load_study, run_study
    from medadapt.study.cost import describe

    extra = list(overrides or [])
    if out is not None:
        extra.append(f"out_dir={out.resolve()}")
    study = load_study(study_file, extra)
    if dry_run:
        plan = run_study(study, dry_run=True)
        console.print(describe(study, plan["jobs"], plan["todo"]))
        return
    counts = run_study(study)
    console.print(f"{counts['run']} jobs run, {counts['skipped']} already done (of {counts['jobs']})")
    if no_report:
        return
    if not counts["evaluations"]:
        console.print("no report: no task language of the study has a test set")
        return
    _report(study)


def _report(study: StudyConfig) -> None:
    """Write the report and say what it covers (a partial one says how partial)."""
    from medadapt.progress import console
    from medadapt.study import report_study

    paths = report_study(study)
    finished, planned = paths["finished"], paths["planned"]
    if finished < planned:
        console.print(
            f"the report covers {finished} of {planned} evaluations; `study run` does the others "
            "(`study run --dry-run` says why each is to do)"
        )
    console.print(f"report: {paths['markdown']} and {paths['html']}")


@app.command("report")
def report(study_dir: Annotated[Path, typer.Argument(help="A study folder written by `study run`.")]) -> None:
    """(Re)build analysis.json, report.md, report.html and plots from the finished runs of a study folder."""
    from medadapt.study import load_study_folder

    _report(load_study_folder(study_dir))
