"""Tiny tokenizers and models built inside tests (no hub, no downloads)."""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import BertConfig, BertForMaskedLM, PreTrainedTokenizerFast

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

CLINICAL_SENTENCES = [
    "Paciente con diabetes mellitus e hipertensión arterial.",
    "Se inicia metformina 850 mg cada 12 horas.",
    "No refiere dolor torácico ni disnea.",
    "La hipertensión arterial se controla con enalapril.",
    "Pacient cu diabet zaharat și hipertensiune arterială.",
    "Patiënt met diabetes mellitus en hypertensie, metformine 500 mg 2dd.",
]


def wordpiece_tokenizer(texts: Iterable[str], vocab_size: int = 200) -> PreTrainedTokenizerFast:
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=False)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    tok.train_from_iterator(list(texts), trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=SPECIALS))
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
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
