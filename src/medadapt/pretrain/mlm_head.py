"""MLM loss computed only at masked positions, for BERT, RoBERTa/XLM-R and DistilBERT families.

Why: for mBERT the tied output projection is 768 × 119,547 — more FLOPs per token than the whole encoder — and
HF's `*ForMaskedLM.forward` applies it to every position although only ~15% carry a label. `SparseMLM` runs the
encoder, gathers the hidden states at labelled positions and applies the (position-wise) prediction head to
those rows only. The loss is identical to the dense one; a test checks it.

The wrapper is a plain `nn.Module`, so Accelerate/DDP/FSDP wrap it as a whole and gradient synchronisation works
as usual; the HF model inside is what gets saved.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from transformers import PreTrainedModel


def prediction_head(model: PreTrainedModel) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """The position-wise head mapping hidden states to vocabulary logits, or None for unknown families."""
    if hasattr(model, "cls"):  # BERT family: BertOnlyMLMHead
        return model.cls
    if hasattr(model, "lm_head"):  # RoBERTa / XLM-R / CamemBERT
        return model.lm_head
    if getattr(model.config, "model_type", "") == "distilbert":

        def distilbert_head(hidden: torch.Tensor) -> torch.Tensor:
            hidden = model.vocab_layer_norm(model.activation(model.vocab_transform(hidden)))
            return model.vocab_projector(hidden)

        return distilbert_head
    return None


class SparseMLM(nn.Module):
    """Wraps a `*ForMaskedLM` model; forward returns (loss_sum, n_predicted) so callers normalise globally.

    Returning the *sum* lets a distributed loop divide by the number of labelled tokens across all processes
    and micro-batches, which makes 1-process and N-process runs at the same global batch compute the same loss.
    """

    def __init__(self, model: PreTrainedModel, sparse: bool = True, vocab_limit: int | None = None):
        super().__init__()
        self.model = model
        self.head = prediction_head(model) if sparse else None
        # Rows past the tokenizer's vocabulary (padding to a multiple of 64) never compete in the softmax.
        self.vocab_limit = vocab_limit

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None, labels: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        labelled = labels != -100
        n_labelled = labelled.sum()
        if self.head is None:
            logits = self.model(input_ids=input_ids, attention_mask=attention_mask).logits
            logits = logits[labelled]
        else:
            hidden = self.model.base_model(input_ids=input_ids, attention_mask=attention_mask)[0]
            logits = self.head(hidden[labelled])
        if self.vocab_limit is not None:
            logits = logits[:, : self.vocab_limit]
        loss_sum = nn.functional.cross_entropy(logits.float(), labels[labelled], reduction="sum")
        return loss_sum, n_labelled


def pad_vocabulary(model: PreTrainedModel, multiple: int = 64) -> int:
    """Round the embedding rows up to a multiple of `multiple` (tensor-core friendly); returns the new row count.

    The tokenizer keeps its real size: the extra rows are never produced by it and are never chosen as random
    replacements by the masker, so they stay unused.
    """
    rows = model.get_input_embeddings().weight.shape[0]
    target = -(-rows // multiple) * multiple
    if target != rows:
        model.resize_token_embeddings(target, mean_resizing=False)
    return target
