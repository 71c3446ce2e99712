"""Tiny tokenizers and models built inside tests (no hub, no downloads)."""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
from transformers import BertConfig, BertForMaskedLM, PreTrainedTokenizerFast

from medadapt.corpus.tokenizer_train import SPECIAL_TOKENS as SPECIALS
from medadapt.corpus.tokenizer_train import train_wordpiece

CLINICAL_SENTENCES = [
    "Paciente con diabetes mellitus e hipertensión arterial.",
    "Se inicia metformina 850 mg cada 12 horas.",
    "No refiere dolor torácico ni disnea.",
    "La hipertensión arterial se controla con enalapril.",
    "Pacient cu diabet zaharat și hipertensiune arterială.",
    "Patiënt met diabetes mellitus en hypertensie, metformine 500 mg 2dd.",
]


def wordpiece_tokenizer(texts: Iterable[str], vocab_size: int = 200) -> PreTrainedTokenizerFast:
    texts = list(texts)
    tok = train_wordpiece(
        lambda: texts,
        normalizers.BertNormalizer(lowercase=False),
        vocab_size=vocab_size,
        min_frequency=0,
        special_tokens=SPECIALS,
    )
    return _wrapped(
        tok, "[CLS] $A [SEP]", "[CLS] $A [SEP] $B [SEP]", "[CLS]", "[SEP]", pad="[PAD]", unk="[UNK]", mask="[MASK]"
    )


def metaspace_tokenizer(texts: Iterable[str], vocab_size: int = 150) -> PreTrainedTokenizerFast:
    """A SentencePiece-style (XLM-R, e5) tokenizer: Unigram pieces, words split on whitespace only."""
    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size, special_tokens=["<pad>", "<unk>", "<s>", "</s>", "<mask>"], unk_token="<unk>"
    )
    tok.train_from_iterator(list(texts), trainer)
    wrapped = _wrapped(
        tok, "<s> $A </s>", "<s> $A </s> </s> $B </s>", "<s>", "</s>", pad="<pad>", unk="<unk>", mask="<mask>"
    )
    wrapped.bos_token, wrapped.eos_token = "<s>", "</s>"
    return wrapped


def _wrapped(tok: Tokenizer, single: str, pair: str, cls: str, sep: str, *, pad: str, unk: str, mask: str):
    """The trained `tok` with its [CLS]/[SEP] template, as the transformers tokenizer the tests use."""
    special = [(cls, tok.token_to_id(cls)), (sep, tok.token_to_id(sep))]
    tok.post_processor = processors.TemplateProcessing(single=single, pair=pair, special_tokens=special)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token=pad,
        unk_token=unk,
        cls_token=cls,
        sep_token=sep,
        mask_token=mask,
        model_max_length=512,
    )


def tiny_bert(vocab_size: int, **overrides) -> BertForMaskedLM:
    settings = dict(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    settings.update(overrides)
    return BertForMaskedLM(BertConfig(**settings))
