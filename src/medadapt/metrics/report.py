"""`EntityReport`: the result of an entity evaluation, as JSON (`to_dict`) and as a table for people (`table`)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table

from medadapt.metrics.counts import Averages, Counts, ModeScores

LENIENT_RULE = (
    "same type and at least one shared character; one-to-one maximum matching (augmenting paths), "
    "gold in text order, larger overlap preferred"
)


@dataclass
class EntityReport:
    """Strict and lenient scores per type with micro/macro averages, plus type-agnostic boundary scores.

    `strict` and `lenient` list the same types: every type found in gold or predictions (after label filtering
    and mapping). `missing_labels` are requested labels that occur on neither side — usually a typo.
    """

    strict: ModeScores
    lenient: ModeScores
    boundary: Counts
    documents: int
    missing_labels: list[str] = field(default_factory=list)

    @property
    def types(self) -> list[str]:
        return list(self.strict.per_type)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: counts and P/R/F1 per mode and type, micro and macro, and the rules used."""
        return {
            "documents": self.documents,
            "types": self.types,
            "strict": self.strict.to_dict(),
            "lenient": self.lenient.to_dict() | {"matching": LENIENT_RULE},
            "boundary": self.boundary.to_dict(),
            "missing_labels": self.missing_labels,
        }

    def table(self, title: str | None = None) -> Table:
        """Per type: support, predicted, strict and lenient P/R/F1; then micro, macro and boundary-only rows."""
        table = Table(
            title=title or f"Entity scores ({self.documents} documents)",
            caption="strict: same span and type; lenient: overlap and same type, one-to-one; "
            "boundary: same span, any type",
        )
        table.add_column("type", no_wrap=True)
        for name in ("gold", "pred"):
            table.add_column(name, justify="right")
        for mode in ("strict", "lenient"):
            for name in ("P", "R", "F1"):
                table.add_column(f"{mode} {name}", justify="right")
        for label in self.types:
            table.add_row(*_row(label, self.strict.per_type[label], self.lenient.per_type[label]))
        table.add_section()
        table.add_row(*_row("micro", self.strict.micro, self.lenient.micro), style="bold")
        macro_cells = [*_prf(self.strict.macro), *_prf(self.lenient.macro)]
        table.add_row("macro", "", "", *macro_cells, style="bold")
        boundary = self.boundary
        table.add_row("boundary", str(boundary.support), str(boundary.predicted), *_prf(boundary), "", "", "")
        return table

    def text(self, width: int = 120) -> str:
        """The table as plain text (logs, Markdown code blocks, tests)."""
        buffer = io.StringIO()
        Console(file=buffer, width=width, no_color=True, highlight=False).print(self.table())
        return buffer.getvalue()


def _prf(scores: Counts | Averages) -> list[str]:
    return [f"{scores.precision:.4f}", f"{scores.recall:.4f}", f"{scores.f1:.4f}"]


def _row(label: str, strict: Counts, lenient: Counts) -> list[str]:
    return [label, str(strict.support), str(strict.predicted), *_prf(strict), *_prf(lenient)]
