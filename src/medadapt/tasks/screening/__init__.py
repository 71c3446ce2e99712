"""Patient screening on long notes: notes → patients (data.py) → chunks (chunks.py) → chunk classifier with
note/patient pooling (model.py, pooling.py) → scores (scoring.py) → thresholds, metrics, evidence
(evaluation.py); the recipe (recipe.py: `run_seed`, `finetune_screening`, `evaluate_screening`) and the task
object (task.py: `SCREENING`) import torch, so they load on first use.
"""

from typing import Any

_RECIPE = ("run_seed", "finetune_screening", "evaluate_screening")


def __getattr__(name: str) -> Any:
    """The recipe's entry points, imported (with torch) only when asked for."""
    if name in _RECIPE:
        from medadapt.tasks.screening import recipe

        return getattr(recipe, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = list(_RECIPE)
