"""Task names → task objects (`medadapt.tasks.protocol.Task`): the one place that knows which tasks exist.

The built-in tasks are named by import path and imported on first use, so `medadapt --help` and config
validation never pay for torch. A user (or a test) adds a task with `register(task)`; from then on a study file's
`type:` and the CLI's `finetune <name>` reach it like a built-in one.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from medadapt.errors import ConfigError

if TYPE_CHECKING:
    from medadapt.tasks.protocol import Task

BUILT_IN: dict[str, tuple[str, str]] = {
    # name: (module, attribute), and the one-line description help text shows without importing the module
    "ner": ("medadapt.tasks.ner.task", "NER"),
    "screening": ("medadapt.tasks.screening.task", "SCREENING"),
}
DESCRIPTIONS: dict[str, str] = {
    "ner": "clinical named-entity recognition (BRAT/CoNLL/JSONL entities)",
    "screening": "patient screening on long notes (chunks pooled to notes and patients)",
}
_registered: dict[str, Task] = {}


def register(task: Task) -> Task:
    """Make `task` reachable by its name (replacing a task of the same name); returns it."""
    _registered[task.name] = task
    DESCRIPTIONS[task.name] = task.description
    return task


def unregister(name: str) -> None:
    """Forget a registered task (built-in ones come back on next use)."""
    _registered.pop(name, None)
    if name not in BUILT_IN:
        DESCRIPTIONS.pop(name, None)


def task_names() -> list[str]:
    """Every task a study or the CLI can name."""
    return sorted(set(BUILT_IN) | set(_registered))


def get_task(name: str) -> Task:
    """The task called `name`; a clear error listing the known ones otherwise."""
    if name in _registered:
        return _registered[name]
    if name not in BUILT_IN:
        raise ConfigError(f"unknown task type {name!r}; known: {', '.join(task_names())}")
    module, attribute = BUILT_IN[name]
    task = getattr(import_module(module), attribute)
    _registered[name] = task
    return task
