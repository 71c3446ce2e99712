"""One place that decides how long work shows progress: rich bars on a terminal, periodic plain lines in logs.

Every long loop (reading, tokenizing, training) goes through `make_progress()` or `progress_task()` so the look
is consistent and CI logs stay readable (rich falls back to no live bar when stdout is not a terminal).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

# soft_wrap: messages carry paths; a wrapped path cannot be copied or grepped from a log.
console = Console(stderr=True, soft_wrap=True)


def make_progress(*extra_columns: TextColumn, disable: bool = False) -> Progress:
    """A rich Progress with the columns medadapt uses everywhere; extra columns (e.g. loss, tokens/s) append."""
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        *extra_columns,
        console=console,
        disable=disable,
        transient=False,
    )


@contextmanager
def progress_task(description: str, total: float | None = None, *, disable: bool = False) -> Iterator:
    """Context manager yielding `advance(n)`; use when the loop is not a simple iterable."""
    with make_progress(disable=disable) as bar:
        task = bar.add_task(description, total=total)

        def advance(n: float = 1) -> None:
            bar.advance(task, n)

        yield advance
