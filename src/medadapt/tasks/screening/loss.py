"""Patient-level losses for rare positives: plain, frequency-weighted, or focal (Lin et al., 2017).

`weighted` sets the positive weight to negatives/positives in train (per label for multi-label tasks, inverse
class frequency for multi-class), so a missed positive costs as much in total as all the negatives; `focal`
down-weights the many easy negatives by (1 - p_t)^gamma instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from medadapt.tasks.screening.config import ImbalanceSection
from medadapt.tasks.screening.data import LabelSpace

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _binary_like(targets: torch.Tensor) -> torch.Tensor:
    positives = targets.sum(dim=0)
    negatives = len(targets) - positives
    return negatives / positives.clamp(min=1.0)


def make_loss(
    space: LabelSpace, settings: ImbalanceSection, train_targets: Sequence[Any]
) -> tuple[Loss, dict[str, Any]]:
    """The loss over patient logits [p, k] and targets, and a record of the weights used (for the report)."""
    gamma = settings.focal_gamma
    if space.kind == "multiclass":
        y = torch.tensor(list(train_targets), dtype=torch.long)
        counts = torch.bincount(y, minlength=len(space.labels)).float()
        weight = (len(y) / (len(space.labels) * counts.clamp(min=1.0))) if settings.loss == "weighted" else None

        def multiclass(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
            w = weight.to(logits.device) if weight is not None else None
            if settings.loss != "focal":
                return F.cross_entropy(logits, labels.long(), weight=w)
            log_p = F.log_softmax(logits, dim=-1).gather(1, labels.long().unsqueeze(1)).squeeze(1)
            return (-((1 - log_p.exp()) ** gamma) * log_p).mean()

        used = {"loss": settings.loss, "class_weights": weight.tolist() if weight is not None else None}
        return multiclass, used

    y = torch.tensor(list(train_targets), dtype=torch.float).reshape(len(train_targets), -1)
    pos_weight = _binary_like(y) if settings.loss == "weighted" else None

    def sigmoid_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        target = labels.float().reshape(logits.shape)
        if settings.loss == "focal":
            per = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
            p_t = torch.exp(-per)
            return ((1 - p_t) ** gamma * per).mean()
        w = pos_weight.to(logits.device) if pos_weight is not None else None
        return F.binary_cross_entropy_with_logits(logits, target, pos_weight=w)

    used = {"loss": settings.loss, "pos_weight": pos_weight.tolist() if pos_weight is not None else None}
    if settings.loss == "focal":
        used["focal_gamma"] = gamma
    return sigmoid_loss, used
