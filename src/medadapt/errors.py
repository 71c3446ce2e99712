"""Errors meant for people, not for stack traces.

Every failure a user can cause (bad input, bad config, a missing model) raises a `MedadaptError` subclass whose
message names the file, the line or offset, what is wrong and, where there is one, the fix. The CLI prints these
without a traceback; anything else is a bug in medadapt and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path


class MedadaptError(Exception):
    """Base class for errors the CLI prints as a plain message (exit code 2)."""

    exit_code = 2


class ConfigError(MedadaptError):
    """A config file or a `--set` override is invalid."""


class InputError(MedadaptError):
    """An input file is unreadable or malformed.

    Carries the location so callers (e.g. the skip-bad machinery) can count and report it without re-parsing
    the message.
    """

    def __init__(self, path: str | Path, message: str, *, line: int | None = None, offset: int | None = None):
        self.path = str(path)
        self.line = line
        self.offset = offset
        self.reason = message
        where = self.path
        if line is not None:
            where += f", line {line}"
        if offset is not None:
            where += f", offset {offset}"
        super().__init__(f"{where}: {message}")


class ModelLoadError(MedadaptError):
    """A model or tokenizer could not be found or loaded (e.g. a hub id while offline)."""


class DependencyError(MedadaptError):
    """An optional dependency that this feature needs is not installed."""
