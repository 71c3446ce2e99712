"""Corpus mixing: realised proportions follow weights; the stream resumes exactly from its state."""

from __future__ import annotations

import pytest

from medadapt.pretrain.mixing import CorpusMixer


def test_realised_proportions_follow_weights() -> None:
    mixer = CorpusMixer(sizes=[500, 80], weights=[0.7, 0.3], seed=3)
    mixer.take(20_000)
    clinical, general = mixer.realised_proportions()
    assert clinical == pytest.approx(0.7, abs=0.015)
    assert general == pytest.approx(0.3, abs=0.015)
    # the small corpus is revisited in new epochs, each epoch a permutation of all its blocks
    assert mixer.epochs()[1] > 10


def test_each_epoch_visits_every_block_once() -> None:
    mixer = CorpusMixer(sizes=[37], weights=[1.0], seed=0)
    first = [b for _, b in mixer.take(37)]
    second = [b for _, b in mixer.take(37)]
    assert sorted(first) == list(range(37)) == sorted(second)
    assert first != second


def test_resume_from_state_continues_the_same_stream() -> None:
    full = CorpusMixer(sizes=[100, 30, 7], weights=[0.5, 0.3, 0.2], seed=9)
    expected = full.take(5000)
    part = CorpusMixer(sizes=[100, 30, 7], weights=[0.5, 0.3, 0.2], seed=9)
    head = part.take(1234)
    state = part.state_dict()
    resumed = CorpusMixer(sizes=[100, 30, 7], weights=[0.5, 0.3, 0.2], seed=0)
    resumed.load_state_dict(state)
    assert head + resumed.take(5000 - 1234) == expected


def test_state_from_other_corpora_is_refused() -> None:
    state = CorpusMixer(sizes=[10], weights=[1.0]).state_dict()
    with pytest.raises(ValueError, match="sizes"):
        CorpusMixer(sizes=[11], weights=[1.0]).load_state_dict(state)


@pytest.mark.parametrize(("sizes", "weights"), [([1, 2], [1.0]), ([0], [1.0]), ([3], [-1.0]), ([3, 4], [0.0, 0.0])])
def test_invalid_mixers(sizes, weights) -> None:
    with pytest.raises(ValueError):
        CorpusMixer(sizes=sizes, weights=weights)
