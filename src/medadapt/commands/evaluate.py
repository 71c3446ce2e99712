"""`medadapt evaluate <task>`: each task's own evaluation command (NER: predictions against gold in any format;
screening: a saved model on labelled notes), attached from the task registry.
"""

from __future__ import annotations

import typer

from medadapt.tasks.registry import evaluate_command, task_names

app = typer.Typer(
    help="Evaluate predictions against gold annotations, or a saved model on labelled data.", no_args_is_help=True
)

for _name in task_names():
    _command = evaluate_command(_name)
    if _command is not None:
        app.command(_name)(_command)
