"""TP/FP/FN counts and the precision/recall/F1 arithmetic every entity score shares.

The formulas are written exactly as seqeval (and scikit-learn) evaluate them — P = TP/(TP+FP), R = TP/(TP+FN),
F1 = 2·P·R/(P+R), a zero denominator giving 0.0, macro = the plain mean of the per-type values — so our numbers
equal theirs bit for bit, not just to a tolerance. (2·TP/(2·TP+FP+FN) is the same number mathematically but can
differ in the last float bit.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


def _divide(numerator: int, denominator: int) -> float:
    """seqeval/sklearn convention: an undefined ratio is 0.0 (their default zero_division, minus the warning)."""
    return numerator / denominator if denominator else 0.0


def f1_from(precision: float, recall: float) -> float:
    """Harmonic mean in seqeval's evaluation order, so floats match exactly."""
    denom = precision + recall
    return 2.0 * precision * recall / denom if denom else 0.0


@dataclass
class Counts:
    """True positives, false positives and false negatives of one type (or summed over types)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: Counts) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn

    @property
    def support(self) -> int:
        """Gold entities (what recall is out of)."""
        return self.tp + self.fn

    @property
    def predicted(self) -> int:
        """Predicted entities (what precision is out of)."""
        return self.tp + self.fp

    @property
    def precision(self) -> float:
        return _divide(self.tp, self.predicted)

    @property
    def recall(self) -> float:
        return _divide(self.tp, self.support)

    @property
    def f1(self) -> float:
        return f1_from(self.precision, self.recall)

    def to_dict(self) -> dict[str, int | float]:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "support": self.support,
            "predicted": self.predicted,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
        }


@dataclass(frozen=True)
class Averages:
    """Macro averages: the unweighted mean over types of each of P, R and F1 (seqeval's "macro avg")."""

    precision: float
    recall: float
    f1: float

    def to_dict(self) -> dict[str, float]:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1}


def _mean(values: list[float]) -> float:
    # Left-to-right sum, as numpy does for fewer than 8 values; more types may differ from numpy in the last bit.
    return sum(values) / len(values) if values else 0.0


@dataclass
class ModeScores:
    """Per-type counts under one matching mode (strict or lenient), with micro and macro averages."""

    per_type: dict[str, Counts] = field(default_factory=dict)

    @classmethod
    def from_counts(cls, per_type: Mapping[str, Counts], types: Iterable[str]) -> ModeScores:
        """Keep `types` (sorted), each with its counts or zeros, so strict and lenient list the same rows."""
        return cls({t: per_type.get(t, Counts()) for t in sorted(types)})

    @property
    def micro(self) -> Counts:
        """Counts summed over types: every entity weighs the same."""
        total = Counts()
        for counts in self.per_type.values():
            total.add(counts)
        return total

    @property
    def macro(self) -> Averages:
        """Every type weighs the same, however rare."""
        rows = list(self.per_type.values())
        return Averages(
            _mean([c.precision for c in rows]), _mean([c.recall for c in rows]), _mean([c.f1 for c in rows])
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "per_type": {t: c.to_dict() for t, c in self.per_type.items()},
            "micro": self.micro.to_dict(),
            "macro": self.macro.to_dict(),
        }
