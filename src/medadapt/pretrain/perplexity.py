"""Masked-LM loss and perplexity of a model on a corpus's held-out blocks, with masks fixed by a seed.

Domain-specific perplexity is what users compare between a base model and its further pre-trained variants
("does the clinical model know clinical text better?"). The masks depend only on (seed, block position), so
every model sees exactly the same masked positions and the numbers are directly comparable. Training-time
validation (`medadapt.pretrain.loop`) uses the same function.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import numpy as np
import torch

from medadapt.pretrain.data import BlockSplit
from medadapt.pretrain.masking import BlockMasker, MaskingSpec, step_generator


def masked_loss_sums(
    wrapper: torch.nn.Module,
    split: BlockSplit,
    masker: BlockMasker,
    *,
    max_blocks: int,
    batch_size: int,
    seed: int,
    key: int = 0,
    device: torch.device | str = "cpu",
    rank: int = 0,
    world: int = 1,
    autocast: Callable[[], AbstractContextManager] = nullcontext,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed CE over masked tokens and their count, over this process's share of the first `max_blocks`."""
    n = min(len(split), max_blocks)
    loss_sum = torch.zeros((), device=device)
    count = torch.zeros((), device=device)
    for start in range(rank * batch_size, n, batch_size * world):
        ids_np, starts_np, lengths_np = split.fetch(np.arange(start, min(start + batch_size, n)))
        ids = torch.from_numpy(ids_np).long()
        lengths = torch.from_numpy(lengths_np).long()
        masked, labels, attention = masker(ids, torch.from_numpy(starts_np), lengths, step_generator(seed, key, start))
        with torch.no_grad(), autocast():
            part, m = wrapper(masked.to(device), None if attention is None else attention.to(device), labels.to(device))
        loss_sum += part.float()
        count += m
    return loss_sum, count


def corpus_perplexity(
    model_dir: str | Path,
    corpus_dir: str | Path,
    *,
    split: str = "validation",
    max_blocks: int = 256,
    batch_size: int = 32,
    seed: int = 1234,
    spec: MaskingSpec | None = None,
) -> float:
    """exp(mean masked-token CE) of a saved MLM model on a built corpus; refuses a mismatched tokenizer."""
    from transformers import AutoModelForMaskedLM

    from medadapt.errors import ConfigError
    from medadapt.loading import load_pretrained
    from medadapt.pretrain.data import open_packed_corpus, tokenizer_vocab_hash
    from medadapt.pretrain.mlm_head import SparseMLM
    from medadapt.pretrain.model import load_tokenizer

    tokenizer = load_tokenizer(str(model_dir))
    corpus = open_packed_corpus(Path(corpus_dir))
    if corpus.vocab_hash != tokenizer_vocab_hash(tokenizer):
        raise ConfigError(f"corpus {corpus_dir} was not tokenized with the tokenizer of {model_dir}")
    model, _ = load_pretrained(AutoModelForMaskedLM.from_pretrained, str(model_dir), head="required")
    model.eval()
    blocks = corpus.validation if split == "validation" else corpus.train
    loss_sum, count = masked_loss_sums(
        SparseMLM(model, vocab_limit=len(tokenizer)),
        blocks,
        BlockMasker(tokenizer, spec or MaskingSpec()),
        max_blocks=max_blocks,
        batch_size=batch_size,
        seed=seed,
    )
    if count.item() == 0:
        raise ConfigError(f"corpus {corpus_dir} has no {split} blocks to evaluate")
    return math.exp(min(loss_sum.item() / count.item(), 50.0))
