"""Bad-input errors with a machine-readable kind, and the report that counts them when reading with skip_bad.

Why a subclass: `BadInputReport` groups problems by *kind* ("invalid JSON", "empty document", ...) for its
summary, and parsing that back out of a free-text message would be fragile. `BadInput` is still an
`InputError`, so the CLI prints it like any other input error. Why a report at all: skipping is only
acceptable when it is counted and shown; nothing a reader drops may go unrecorded.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from medadapt.errors import InputError

logger = logging.getLogger("medadapt.io")

OnBad = Callable[[InputError], None]


class BadInput(InputError):
    """An `InputError` with a short `kind` used to group problems (message = "<kind>: <detail>")."""

    def __init__(
        self,
        path: str | Path,
        kind: str,
        detail: str = "",
        *,
        line: int | None = None,
        offset: int | None = None,
    ):
        self.kind = kind
        self.detail = detail
        super().__init__(path, f"{kind}: {detail}" if detail else kind, line=line, offset=offset)


def kind_of(error: InputError) -> str:
    """The grouping key of an error: its `kind` if it has one, else its message up to the first colon."""
    kind = getattr(error, "kind", None)
    return kind if isinstance(kind, str) else error.reason.split(":", 1)[0]


def where(error: InputError) -> str:
    """Short location for summaries: "name.jsonl line 4" (file name only; the full path is in `errors`)."""
    text = Path(error.path).name
    if error.line is not None:
        text += f" line {error.line}"
    return text


class BadInputReport:
    """Counts every skipped bad input and keeps examples; `summary()` is what the CLI prints after reading.

    All problems are counted; at most `max_errors` are kept in `errors` (and up to `examples_per_kind` per
    kind for the summary), so a corpus with millions of bad lines cannot exhaust memory.
    """

    def __init__(self, max_errors: int = 1000, examples_per_kind: int = 3) -> None:
        self.max_errors = max_errors
        self.examples_per_kind = examples_per_kind
        self.errors: list[InputError] = []
        self._count = 0
        self._by_kind: Counter[str] = Counter()
        self._examples: dict[str, list[InputError]] = {}

    def add(self, error: InputError) -> None:
        self._count += 1
        kind = kind_of(error)
        self._by_kind[kind] += 1
        if len(self.errors) < self.max_errors:
            self.errors.append(error)
        examples = self._examples.setdefault(kind, [])
        if len(examples) < self.examples_per_kind:
            examples.append(error)

    @property
    def count(self) -> int:
        return self._count

    @property
    def by_reason(self) -> dict[str, int]:
        """Count per kind of problem, most frequent first."""
        return dict(self._by_kind.most_common())

    def __len__(self) -> int:
        return self._count

    def __bool__(self) -> bool:
        return self._count > 0

    def summary(self) -> str:
        """E.g. "3 bad inputs skipped: 2 × invalid JSON (a.jsonl line 4, a.jsonl line 9), 1 × empty file
        (b.txt)"."""
        if not self._count:
            return "no bad inputs"
        parts = []
        for kind, n in self._by_kind.most_common():
            shown = [where(e) for e in self._examples[kind]]
            more = ", …" if n > len(shown) else ""
            parts.append(f"{n} × {kind} ({', '.join(shown)}{more})")
        noun = "bad input" if self._count == 1 else "bad inputs"
        return f"{self._count} {noun} skipped: " + ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for run provenance."""
        return {
            "count": self._count,
            "by_reason": self.by_reason,
            "examples": [str(e) for e in self.errors[:20]],
        }


def make_on_bad(skip_bad: bool, report: BadInputReport | None) -> OnBad:
    """The callback readers call for each bad item: raise it, record it, or (no report given) log it.

    Skipping without a report still logs every skipped item as a warning, so nothing is ever dropped silently.
    """

    def raise_it(error: InputError) -> None:
        raise error

    def record(error: InputError) -> None:
        if report is not None:
            report.add(error)
        else:
            logger.warning("skipped bad input: %s", error)

    return record if skip_bad else raise_it
