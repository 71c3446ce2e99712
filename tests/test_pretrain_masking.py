"""Masking statistics: rate, 80/10/10, whole words together, specials untouched, determinism."""

from __future__ import annotations

import pytest
import torch

from medadapt.pretrain.masking import MaskingSpec, mask_tokens, step_generator

MASK_ID = 4
VOCAB = 1000
SPECIAL_IDS = (0, 1, 2, 3, 4)


def _batch(batch: int = 64, length: int = 128, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(10, VOCAB, (batch, length), generator=g)
    ids[:, 0] = 2  # CLS
    ids[:, -1] = 3  # SEP
    ids[:, 60] = 3  # a document separator inside the block
    special = torch.zeros_like(ids, dtype=torch.bool)
    for sid in (2, 3):
        special |= ids == sid
    # words of 1-4 pieces
    starts = torch.rand((batch, length), generator=g) < 0.45
    starts[special] = False
    return ids, special, starts


def _run(spec: MaskingSpec, seed: int = 1, **kw):
    ids, special, starts = _batch(**kw)
    random_ids = torch.arange(len(SPECIAL_IDS), VOCAB)
    masked, labels = mask_tokens(
        ids,
        special,
        mask_token_id=MASK_ID,
        random_token_ids=random_ids,
        spec=spec,
        word_starts=starts,
        generator=step_generator(seed, 0),
    )
    return ids, special, starts, masked, labels


@pytest.mark.parametrize("whole_word", [False, True])
def test_masking_rate_and_80_10_10(whole_word: bool) -> None:
    ids, special, _, masked, labels = _run(MaskingSpec(whole_word=whole_word), batch=256)
    selected = labels != -100
    rate = selected.sum().item() / (~special).sum().item()
    assert rate == pytest.approx(0.15, abs=0.01)
    n = selected.sum().item()
    as_mask = (masked[selected] == MASK_ID).sum().item() / n
    unchanged = (masked[selected] == ids[selected]).sum().item() / n
    assert as_mask == pytest.approx(0.8, abs=0.03)
    # a random replacement equal to the original is possible but rare (1/995)
    assert unchanged == pytest.approx(0.1, abs=0.03)
    assert 1 - as_mask - unchanged == pytest.approx(0.1, abs=0.03)
    # labels carry the original ids, unselected positions are untouched
    assert torch.equal(labels[selected], ids[selected])
    assert torch.equal(masked[~selected], ids[~selected])


def test_special_tokens_never_masked_or_predicted() -> None:
    ids, special, _, masked, labels = _run(MaskingSpec(probability=0.9))
    assert torch.equal(masked[special], ids[special])
    assert (labels[special] == -100).all()


def test_random_replacements_never_use_special_ids() -> None:
    _, _, _, masked, labels = _run(MaskingSpec(probability=0.5, mask_fraction=0.0, random_fraction=1.0))
    replaced = masked[labels != -100]
    assert not torch.isin(replaced, torch.tensor(SPECIAL_IDS)).any()


def test_whole_words_are_masked_together_with_one_decision() -> None:
    ids, special, starts, masked, labels = _run(MaskingSpec(whole_word=True))
    word = torch.cumsum((starts & ~special).long(), dim=1)
    selected = labels != -100
    is_mask = masked == MASK_ID
    for row in range(ids.shape[0]):
        for w in word[row].unique().tolist():
            pos = (word[row] == w) & ~special[row]
            if pos.sum() < 2:
                continue
            sel = selected[row][pos]
            assert sel.all() or not sel.any(), f"row {row} word {w} partially selected"
            if sel.all():
                m = is_mask[row][pos]
                assert m.all() or not m.any(), f"row {row} word {w}: mixed [MASK] decision"


def test_same_generator_seed_same_masks_and_other_step_differs() -> None:
    a = _run(MaskingSpec(), seed=5)
    b = _run(MaskingSpec(), seed=5)
    c = _run(MaskingSpec(), seed=6)
    assert torch.equal(a[3], b[3]) and torch.equal(a[4], b[4])
    assert not torch.equal(a[4], c[4])


@pytest.mark.parametrize(
    "kwargs", [{"probability": 0.0}, {"probability": 1.0}, {"mask_fraction": 0.9, "random_fraction": 0.2}]
)
def test_invalid_spec_rejected(kwargs) -> None:
    with pytest.raises(ValueError):
        MaskingSpec(**kwargs)
