"""Graceful stop for long loops: Ctrl-C / SIGTERM ask the loop to finish its step and save, not to die mid-write.

Pre-training writes a checkpoint, fine-tuning keeps its best model; a second Ctrl-C stops at once. Used as a
context manager so the previous signal handlers come back when the loop ends.
"""

from __future__ import annotations

import contextlib
import signal
from typing import Any

from medadapt.progress import console


class StopRequest:
    """`requested` turns True on the first SIGINT/SIGTERM; the loop checks it between steps."""

    def __init__(self, message: str) -> None:
        self.message = message
        self.requested = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopRequest:
        for sig in (signal.SIGINT, signal.SIGTERM):
            # Outside the main thread (e.g. called from a worker) signals cannot be caught: keep the defaults.
            with contextlib.suppress(ValueError):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:  # second Ctrl-C: stop now
            raise KeyboardInterrupt
        self.requested = True
        console.print(f"[yellow]stop requested: {self.message}[/]")

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
