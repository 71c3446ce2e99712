"""The sparse MLM head computes exactly the dense loss, for every supported encoder family."""

from __future__ import annotations

import pytest
import torch
from transformers import (
    BertConfig,
    BertForMaskedLM,
    DistilBertConfig,
    DistilBertForMaskedLM,
    XLMRobertaConfig,
    XLMRobertaForMaskedLM,
)

from medadapt.pretrain.mlm_head import SparseMLM, pad_vocabulary, prediction_head

FAMILIES = {
    "bert": lambda: BertForMaskedLM(
        BertConfig(vocab_size=101, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
    ),
    "xlm-roberta": lambda: XLMRobertaForMaskedLM(
        XLMRobertaConfig(
            vocab_size=101, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64
        )
    ),
    "distilbert": lambda: DistilBertForMaskedLM(
        DistilBertConfig(vocab_size=101, dim=32, n_layers=2, n_heads=2, hidden_dim=64)
    ),
}


def _inputs(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, 101, (3, 16), generator=g)
    labels = torch.full_like(ids, -100)
    pick = torch.rand(ids.shape, generator=g) < 0.3
    labels[pick] = ids[pick]
    return ids, torch.ones_like(ids), labels


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_sparse_loss_equals_dense_loss(family: str) -> None:
    torch.manual_seed(0)
    model = FAMILIES[family]().eval()
    assert prediction_head(model) is not None
    ids, mask, labels = _inputs()
    with torch.no_grad():
        dense = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss_sum, n = SparseMLM(model, sparse=True)(ids, mask, labels)
        loss_sum_dense, n_dense = SparseMLM(model, sparse=False)(ids, mask, labels)
    assert n == n_dense == (labels != -100).sum()
    assert (loss_sum / n).item() == pytest.approx(dense.item(), rel=1e-5)
    assert loss_sum.item() == pytest.approx(loss_sum_dense.item(), rel=1e-5)


def test_sparse_gradients_equal_dense_gradients() -> None:
    torch.manual_seed(0)
    model = FAMILIES["bert"]().eval()
    ids, mask, labels = _inputs(1)
    grads = []
    for sparse in (True, False):
        model.zero_grad()
        loss_sum, n = SparseMLM(model, sparse=sparse)(ids, mask, labels)
        (loss_sum / n).backward()
        grads.append(model.get_input_embeddings().weight.grad.clone())
    assert torch.allclose(grads[0], grads[1], atol=1e-6)


def test_pad_vocabulary_rounds_up_and_vocab_limit_keeps_the_loss() -> None:
    torch.manual_seed(0)
    model = FAMILIES["bert"]().eval()
    ids, mask, labels = _inputs(2)
    with torch.no_grad():
        before = SparseMLM(model)(ids, mask, labels)[0].item()
    assert pad_vocabulary(model, 64) == 128
    assert model.get_input_embeddings().weight.shape[0] == 128
    assert model.get_output_embeddings().weight.shape[0] == 128
    with torch.no_grad():
        after = SparseMLM(model, vocab_limit=101)(ids, mask, labels)[0].item()
    assert after == pytest.approx(before, rel=1e-5)
