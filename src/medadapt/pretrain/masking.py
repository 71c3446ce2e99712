"""Dynamic MLM masking on packed blocks, token-level or whole-word, decided on the fly every step.

Why not HF's `DataCollatorForWholeWordMask`: it re-derives words from "##" prefixes (WordPiece only) and runs
per-sample Python loops. The corpus builder stores a word-start flag per token (from the fast tokenizer's
`word_ids()`), so words are `cumsum(word_starts)` and the whole batch is masked with a few tensor ops for any
tokenizer (WordPiece, SentencePiece, BPE).

Whole-word masking draws one uniform number per *word*, so all pieces of a word share the masked / [MASK] /
random / unchanged decision; the expected fraction of masked tokens stays `probability`. Randomness comes from
an explicit `torch.Generator`, so a caller that seeds it from (seed, step) gets identical masks after a resume
and on any number of processes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class MaskingSpec:
    """What BERT's recipe calls 15% with 80/10/10: of the selected tokens, 80% [MASK], 10% random, 10% kept."""

    probability: float = 0.15
    mask_fraction: float = 0.8
    random_fraction: float = 0.1
    whole_word: bool = True

    def __post_init__(self) -> None:
        if not 0.0 < self.probability < 1.0:
            raise ValueError(f"masking probability must be in (0, 1), got {self.probability}")
        if self.mask_fraction < 0 or self.random_fraction < 0 or self.mask_fraction + self.random_fraction > 1:
            raise ValueError(
                "mask_fraction and random_fraction must be >= 0 and sum to at most 1, "
                f"got {self.mask_fraction} + {self.random_fraction}"
            )


def _draw(shape: torch.Size, generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    return torch.rand(shape, generator=generator, device="cpu").to(device)


def mask_tokens(
    input_ids: torch.Tensor,
    special_mask: torch.Tensor,
    *,
    mask_token_id: int,
    random_token_ids: torch.Tensor,
    spec: MaskingSpec,
    word_starts: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (masked inputs, labels) with labels = -100 wherever no prediction is asked.

    `special_mask` is True for [CLS]/[SEP]/[PAD] and any position that must never be masked or predicted.
    `random_token_ids` lists the ids a "random" replacement may take (the real vocabulary without specials and
    without the padding rows of an embedding matrix rounded up to a multiple of 64).
    """
    if input_ids.shape != special_mask.shape:
        raise ValueError("input_ids and special_mask must have the same shape")
    batch, length = input_ids.shape
    device = input_ids.device
    if spec.whole_word and word_starts is not None:
        # Word index per token; a continuation piece at the block start forms its own group (index 0).
        starts = word_starts.to(torch.bool) & ~special_mask
        unit = torch.cumsum(starts.to(torch.long), dim=1)
    else:
        unit = torch.arange(1, length + 1, device=device).expand(batch, length)
    n_units = length + 1
    select_draw = _draw(torch.Size((batch, n_units)), generator, device).gather(1, unit)
    action_draw = _draw(torch.Size((batch, n_units)), generator, device).gather(1, unit)
    random_pick = torch.randint(len(random_token_ids), (batch, length), generator=generator, device="cpu").to(device)

    selected = (select_draw < spec.probability) & ~special_mask
    labels = torch.where(selected, input_ids, torch.full_like(input_ids, -100))
    to_mask = selected & (action_draw < spec.mask_fraction)
    to_random = (
        selected & (action_draw >= spec.mask_fraction) & (action_draw < spec.mask_fraction + spec.random_fraction)
    )
    masked = input_ids.clone()
    masked[to_mask] = mask_token_id
    masked[to_random] = random_token_ids.to(device)[random_pick[to_random]]
    return masked, labels


def step_generator(seed: int, step: int, micro_step: int = 0) -> torch.Generator:
    """A generator that depends only on (seed, step, micro-step): masks survive resume and re-sharding."""
    generator = torch.Generator()
    generator.manual_seed((seed * 1_000_003 + step) * 1_009 + micro_step)
    return generator


class BlockMasker:
    """Masks packed blocks for one tokenizer: knows its [MASK] id, its special ids and the random-replacement set.

    Shared by training, validation and the perplexity tool so every place masks the same way.
    """

    def __init__(self, tokenizer, spec: MaskingSpec) -> None:
        import numpy as np

        self.spec = spec
        self.mask_token_id = int(tokenizer.mask_token_id)
        vocab_limit = len(tokenizer)
        special_ids = sorted({int(i) for i in tokenizer.all_special_ids})
        keep = np.ones(vocab_limit, dtype=bool)
        keep[[i for i in special_ids if i < vocab_limit]] = False
        self.random_token_ids = torch.from_numpy(np.nonzero(keep)[0]).long()
        self.special_ids = torch.tensor(special_ids, dtype=torch.long)

    def special_mask(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """True at special tokens and at padding beyond each block's real length."""
        positions = torch.arange(ids.shape[1]).expand_as(ids)
        return torch.isin(ids, self.special_ids) | (positions >= lengths[:, None])

    def __call__(
        self, ids: torch.Tensor, word_starts: torch.Tensor, lengths: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """(masked ids, labels, attention mask or None when no block is padded)."""
        masked, labels = mask_tokens(
            ids,
            self.special_mask(ids, lengths),
            mask_token_id=self.mask_token_id,
            random_token_ids=self.random_token_ids,
            spec=self.spec,
            word_starts=word_starts,
            generator=generator,
        )
        block = ids.shape[1]
        attention = None
        if bool((lengths < block).any()):
            attention = (torch.arange(block)[None, :] < lengths[:, None]).long()
        return masked, labels, attention
