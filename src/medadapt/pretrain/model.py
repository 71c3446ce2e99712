"""Load the encoder to adapt: a hub id or local folder, or a fresh model from a config (tests, the demo).

Loading stays the real `from_pretrained` path so a hospital's local mBERT/XLM-R copy works, through the one loader
(`medadapt.loading`), so a failure says the same as everywhere else (a missing folder, the offline machine).
"""

from __future__ import annotations

import torch
from transformers import AutoConfig, AutoModelForMaskedLM, PreTrainedModel, PreTrainedTokenizerBase

from medadapt.errors import ModelLoadError
from medadapt.loading import load_pretrained
from medadapt.loading import load_tokenizer as _load_tokenizer
from medadapt.pretrain.config import ModelSection


def load_tokenizer(name_or_path: str) -> PreTrainedTokenizerBase:
    """The one loader's tokenizer, which must have a mask token (masked-language-model training)."""
    return _load_tokenizer(name_or_path, require_mask=True)


def load_mlm_model(section: ModelSection, tokenizer: PreTrainedTokenizerBase) -> PreTrainedModel:
    """The `*ForMaskedLM` model, with its vocabulary checked against the tokenizer."""
    attn = {"attn_implementation": section.attn_implementation} if section.attn_implementation else {}
    if section.from_config is not None:
        settings = dict(section.from_config)
        model_type = settings.pop("model_type", "bert")
        settings.setdefault("vocab_size", len(tokenizer))
        settings.setdefault("pad_token_id", tokenizer.pad_token_id)
        config = AutoConfig.for_model(model_type, **settings)
        return AutoModelForMaskedLM.from_config(config, **attn)
    model, _ = load_pretrained(AutoModelForMaskedLM.from_pretrained, section.name_or_path, head="warn", **attn)
    rows = model.get_input_embeddings().weight.shape[0]
    if rows < len(tokenizer):
        raise ModelLoadError(
            f"model {section.name_or_path!r} has {rows} embedding rows but the tokenizer has {len(tokenizer)} "
            "tokens; extend the model's vocabulary (`medadapt vocab extend`) or use its own tokenizer"
        )
    return model


def position_limit(model: PreTrainedModel) -> int | None:
    """The longest sequence the model's absolute position table takes, or None when it has none (relative).

    Read from the embedding itself rather than the config: RoBERTa-style models (XLM-R, CamemBERT) number
    positions from `padding_idx + 1`, so 514 rows take 512 tokens.
    """
    embeddings = getattr(model.base_model, "embeddings", None)
    table = getattr(embeddings, "position_embeddings", None)
    if not isinstance(table, torch.nn.Embedding):
        return None
    padding_idx = getattr(embeddings, "padding_idx", None)
    offset = padding_idx + 1 if isinstance(padding_idx, int) else 0
    return table.num_embeddings - offset
