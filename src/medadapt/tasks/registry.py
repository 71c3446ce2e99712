"""Task names → task objects (`medadapt.tasks.protocol.Task`): the one place that knows which tasks exist.

The built-in tasks are named by import path and imported on first use, so `medadapt --help` never pays for them;
their command-line help lives here for the same reason. A user (or a test) adds a task with `register(task)`;
from then on a study file's `type:` reaches it like a built-in one (and `finetune <name>` does, for a task
registered before the CLI is built, e.g. by a plugin imported in `medadapt.cli`'s process).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING

from medadapt.errors import ConfigError, ModelLoadError

if TYPE_CHECKING:
    from medadapt.tasks.protocol import Task


@dataclass(frozen=True)
class BuiltIn:
    module: str  # where the task object lives
    attribute: str
    help: str  # `medadapt finetune <name> --help`
    evaluate_command: str | None = None  # "module:function" of its `medadapt evaluate <name>` command


BUILT_IN: dict[str, BuiltIn] = {
    "ner": BuiltIn(
        "medadapt.tasks.ner.task",
        "NER",
        "Train a token-classification head (and the encoder) on BRAT/CoNLL/JSONL entities; score dev and test.\n\n"
        "Writes the best model (by dev strict micro-F1), predictions, metrics.json and the resolved config; with "
        "several seeds one folder per seed plus summary.json (mean ± sd).",
        "medadapt.tasks.ner.cli:evaluate",
    ),
    "screening": BuiltIn(
        "medadapt.tasks.screening.task",
        "SCREENING",
        "Train a patient-screening classifier on long notes (chunks pooled to notes and patients); score dev and "
        "test.\n\nPicks the best epoch by dev AUPRC, chooses the threshold on dev (default: 95% sensitivity) and "
        "stores it with the model; writes metrics with bootstrap CIs, per-patient predictions with the evidence "
        "chunks, a reliability plot and the resolved config; several seeds: one folder each plus summary.json.",
        "medadapt.tasks.screening.cli:evaluate",
    ),
}
_registered: dict[str, Task] = {}


def register(task: Task) -> Task:
    """Make `task` reachable by its name (replacing a task of the same name); returns it."""
    _registered[task.name] = task
    return task


def unregister(name: str) -> None:
    """Forget a registered task (a built-in one comes back on next use)."""
    _registered.pop(name, None)


def task_names() -> list[str]:
    """Every task a study or the CLI can name."""
    return sorted(set(BUILT_IN) | set(_registered))


def get_task(name: str) -> Task:
    """The task called `name`; a clear error listing the known ones otherwise."""
    if name in _registered:
        return _registered[name]
    if name not in BUILT_IN:
        raise ConfigError(f"unknown task type {name!r}; known: {', '.join(task_names())}")
    entry = BUILT_IN[name]
    task = getattr(import_module(entry.module), entry.attribute)
    _registered[name] = task
    return task


def command_help(name: str) -> str:
    """The help text of `medadapt finetune <name>` (a registered task's description)."""
    return BUILT_IN[name].help if name in BUILT_IN else get_task(name).description


def evaluate_command(name: str) -> object | None:
    """The task's own `medadapt evaluate <name>` command function, if it has one."""
    entry = BUILT_IN.get(name)
    if entry is None or entry.evaluate_command is None:
        return None
    module, function = entry.evaluate_command.split(":")
    return getattr(import_module(module), function)


def task_of_model(model_dir: str | Path) -> Task:
    """The task whose saved model `model_dir` is, asked of every registered task; a one-line error naming what
    is missing for a folder no task recognises (or one that several claim)."""
    folder = Path(model_dir)
    if not folder.is_dir():
        if not folder.exists():
            raise ModelLoadError(f"no such model folder: {folder}")
        raise ModelLoadError(f"{folder} is not a folder; give a fine-tuned model folder (e.g. runs/ner/best-model)")
    tasks = [get_task(name) for name in task_names()]
    owners = [task for task in tasks if task.owns_model(folder)]
    if len(owners) == 1:
        return owners[0]
    if owners:
        names = ", ".join(task.name for task in owners)
        raise ModelLoadError(f"{folder}: several tasks claim this model folder ({names})")
    if not (folder / "config.json").is_file():
        raise ModelLoadError(f"{folder} is not a medadapt model: it has no config.json (a save_pretrained folder)")
    wanted = "; ".join(f"{task.name}: {task.model_signature}" for task in tasks if task.model_signature)
    raise ModelLoadError(f"{folder} is not a medadapt model: it has none of what a task needs ({wanted})")
