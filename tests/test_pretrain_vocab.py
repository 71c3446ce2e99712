"""Vocabulary extension and trimming keep the model's behaviour on unchanged tokens identical."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoModelForMaskedLM, AutoTokenizer

from medadapt.pretrain.vocab import count_words, extend_vocabulary, trim_plan, trim_vocabulary
from tests.tiny import CLINICAL_SENTENCES, tiny_bert, wordpiece_tokenizer

TEXTS = CLINICAL_SENTENCES * 10
PROBE = "No refiere dolor."


def _model(vocab: int):
    torch.manual_seed(0)
    model = tiny_bert(vocab).eval()
    with torch.no_grad():
        model.cls.predictions.bias.normal_()  # a non-zero bias must follow the rows too
    return model


def test_extension_adds_frequent_oversplit_words_and_keeps_old_outputs(tmp_path: Path) -> None:
    tokenizer = wordpiece_tokenizer(TEXTS, vocab_size=120)
    model = _model(len(tokenizer))
    encoded = tokenizer(PROBE, return_tensors="pt")
    with torch.no_grad():
        before = model(**encoded).logits
    report = extend_vocabulary(model, tokenizer, TEXTS, tmp_path / "ext", top_k=3, min_pieces=3)
    assert report["added"] == 3
    new_tok = AutoTokenizer.from_pretrained(tmp_path / "ext")
    new_model = AutoModelForMaskedLM.from_pretrained(tmp_path / "ext").eval()
    assert len(new_tok) == len(tokenizer) + 3
    for word in report["words"]:
        assert len(tokenizer.tokenize(word)) >= 3
        assert new_tok.tokenize(word) == [word]  # now one piece
        # the new row is the mean of the pieces it replaces
        pieces = tokenizer(word, add_special_tokens=False)["input_ids"]
        row = new_model.get_input_embeddings().weight[new_tok.convert_tokens_to_ids(word)]
        expected = model.get_input_embeddings().weight[pieces].mean(0)
        assert torch.allclose(row, expected, atol=1e-6)
    assert new_tok(PROBE)["input_ids"] == encoded["input_ids"][0].tolist()
    with torch.no_grad():
        after = new_model(**new_tok(PROBE, return_tensors="pt")).logits
    assert torch.equal(after[..., : len(tokenizer)], before)


def test_trimming_keeps_corpus_tokenization_and_logits(tmp_path: Path) -> None:
    tokenizer = wordpiece_tokenizer(TEXTS, vocab_size=160)
    model = _model(len(tokenizer))
    corpus = [*CLINICAL_SENTENCES[:3], PROBE]
    counts = np.zeros(len(tokenizer), dtype=np.int64)
    for text in corpus:
        np.add.at(counts, tokenizer(text)["input_ids"], 1)
    keep = trim_plan(tokenizer, counts, keep_single_chars=False)
    assert len(keep) < len(tokenizer)
    with torch.no_grad():
        before = model(**tokenizer(PROBE, return_tensors="pt")).logits
    report = trim_vocabulary(model, tokenizer, keep, tmp_path / "trim")
    new_tok = AutoTokenizer.from_pretrained(tmp_path / "trim")
    new_model = AutoModelForMaskedLM.from_pretrained(tmp_path / "trim").eval()
    assert len(new_tok) == report["kept"] == len(keep)
    old_to_new = np.load(tmp_path / "trim" / "trim_old_to_new.npy")
    for text in corpus:
        assert new_tok(text)["input_ids"] == old_to_new[tokenizer(text)["input_ids"]].tolist()
    with torch.no_grad():
        after = new_model(**new_tok(PROBE, return_tensors="pt")).logits
    assert torch.allclose(after, before[..., torch.as_tensor(keep)], atol=1e-6)


def test_trim_plan_keeps_specials_and_single_characters() -> None:
    tokenizer = wordpiece_tokenizer(TEXTS, vocab_size=160)
    keep = set(trim_plan(tokenizer, np.zeros(len(tokenizer), dtype=np.int64)).tolist())
    assert set(tokenizer.all_special_ids) <= keep
    vocab = tokenizer.get_vocab()
    assert vocab["a"] in keep and vocab["##a"] in keep
    assert all(len(t.removeprefix("##")) <= 1 or i in tokenizer.all_special_ids for t, i in vocab.items() if i in keep)


def test_count_words_uses_the_tokenizer_pretokenizer() -> None:
    tokenizer = wordpiece_tokenizer(TEXTS)
    counts = count_words(tokenizer, ["metformina 850 mg, metformina."])
    assert counts["metformina"] == 2
    assert "850" not in counts and "," not in counts


def test_bpe_tokenizers_are_refused(tmp_path: Path) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from medadapt.errors import ConfigError

    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(TEXTS, trainers.BpeTrainer(vocab_size=80, special_tokens=["[UNK]", "[MASK]"]))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", mask_token="[MASK]")
    with pytest.raises(ConfigError, match="BPE"):
        trim_vocabulary(tiny_bert(len(fast)), fast, np.arange(10), tmp_path / "x")
