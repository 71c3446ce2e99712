"""Vocabulary extension and trimming for an encoder and its fast tokenizer, saved as a matching pair.

*Extension* adds the most frequent corpus words that the tokenizer splits into many pieces ("fertility" is
what makes clinical Dutch/Romanian expensive for mBERT). New words enter the tokenizer's own model (a WordPiece
vocabulary entry, or a Unigram piece scored above its current segmentation), not as "added tokens", so they are
used exactly where the tokenizer would otherwise split that word. Each new embedding row (and output bias) is
the mean of the pieces it replaces, so the model starts from what it already knew.

*Trimming* keeps only the pieces a corpus uses (plus specials and, by default, every single-character piece so
unseen text still tokenizes without [UNK]) and remaps the embedding matrix. For WordPiece (greedy longest match)
and Unigram (best segmentation) the tokenization of the corpus text is provably unchanged: every piece chosen
before is still there and no new candidate was added. mBERT's 119k-row matrix is most of its parameters and most
of the optimizer's work; a Spanish+Romanian clinical model needs a fraction of it.

Both operations rewrite `tokenizer.json` and reload it with `AutoTokenizer`, so the saved folder loads with
plain transformers. BPE vocabularies (merges) are refused with a clear error.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoModelForMaskedLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from medadapt.errors import ConfigError

SUPPORTED = ("WordPiece", "Unigram")


def _tokenizer_json(tokenizer: PreTrainedTokenizerBase) -> dict[str, Any]:
    data = json.loads(tokenizer.backend_tokenizer.to_str())
    kind = data["model"]["type"]
    if kind not in SUPPORTED:
        raise ConfigError(f"vocabulary changes support {', '.join(SUPPORTED)} tokenizers, not {kind}")
    return data


def _reload(tokenizer: PreTrainedTokenizerBase, data: dict[str, Any], out_dir: Path) -> PreTrainedTokenizerBase:
    """Save the tokenizer, swap in the edited tokenizer.json, and load the folder back as a user would."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(out_dir)
    for stale in ("vocab.txt", "sentencepiece.bpe.model", "spiece.model"):
        (out_dir / stale).unlink(missing_ok=True)
    (out_dir / "tokenizer.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return AutoTokenizer.from_pretrained(out_dir)


def _word_prefix(data: dict[str, Any]) -> str:
    """How a word-initial piece is spelled: '' for WordPiece, '▁' for SentencePiece-style Unigram."""
    if data["model"]["type"] == "WordPiece":
        return ""
    return "▁"


# ---------------------------------------------------------------------------------------------- extension
def count_words(tokenizer: PreTrainedTokenizerBase, texts: Iterable[str]) -> Counter[str]:
    """Word frequencies as the tokenizer's own normaliser and pre-tokenizer see words."""
    backend = tokenizer.backend_tokenizer
    counts: Counter[str] = Counter()
    for text in texts:
        normalized = backend.normalizer.normalize_str(text) if backend.normalizer else text
        for word, _ in backend.pre_tokenizer.pre_tokenize_str(normalized):
            word = word.lstrip("▁")
            if len(word) >= 3 and any(ch.isalpha() for ch in word):
                counts[word] += 1
    return counts


def select_new_words(
    tokenizer: PreTrainedTokenizerBase, counts: Counter[str], *, top_k: int, min_pieces: int
) -> list[tuple[str, list[int]]]:
    """The `top_k` most frequent words that currently take at least `min_pieces` pieces, with those pieces."""
    vocab = tokenizer.get_vocab()
    chosen = []
    for word, _ in counts.most_common():
        if len(chosen) >= top_k:
            break
        pieces = tokenizer(word, add_special_tokens=False)["input_ids"]
        if len(pieces) >= min_pieces and word not in vocab and ("▁" + word) not in vocab:
            chosen.append((word, pieces))
    return chosen


def extend_vocabulary(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    texts: Iterable[str],
    out_dir: Path,
    *,
    top_k: int = 1000,
    min_pieces: int = 3,
) -> dict[str, Any]:
    """Add frequent over-split words; save model + tokenizer to `out_dir`; return a report."""
    data = _tokenizer_json(tokenizer)
    new_words = select_new_words(tokenizer, count_words(tokenizer, texts), top_k=top_k, min_pieces=min_pieces)
    old_len = len(tokenizer)
    prefix = _word_prefix(data)
    if data["model"]["type"] == "WordPiece":
        vocab = data["model"]["vocab"]
        next_id = max(vocab.values()) + 1
        for word, _ in new_words:
            vocab[word] = next_id
            next_id += 1
    else:
        pieces = data["model"]["vocab"]
        scores = {p: s for p, s in pieces}
        for word, ids in new_words:
            current = sum(scores.get(tokenizer.convert_ids_to_tokens(i), -20.0) for i in ids)
            pieces.append([prefix + word, current + 1.0])  # beats its current segmentation
    new_tokenizer = _reload(tokenizer, data, out_dir)
    new_len = len(new_tokenizer)
    embeddings = model.get_input_embeddings().weight
    rows = max(embeddings.shape[0], new_len)
    if rows != embeddings.shape[0]:
        model.resize_token_embeddings(rows, mean_resizing=False)
    _init_new_rows(model, new_tokenizer, new_words, prefix)
    model.save_pretrained(out_dir, safe_serialization=True)
    return {
        "added": len(new_words),
        "tokenizer_size_before": old_len,
        "tokenizer_size_after": new_len,
        "words": [w for w, _ in new_words[:50]],
        "mean_pieces_replaced": float(np.mean([len(p) for _, p in new_words])) if new_words else 0.0,
    }


@torch.no_grad()
def _init_new_rows(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    new_words: list[tuple[str, list[int]]],
    prefix: str,
) -> None:
    embeddings = model.get_input_embeddings().weight
    output = model.get_output_embeddings()
    bias = getattr(output, "bias", None) if output is not None else None
    untied_output = output is not None and output.weight.data_ptr() != embeddings.data_ptr()
    for word, pieces in new_words:
        new_id = tokenizer.convert_tokens_to_ids(prefix + word)
        index = torch.tensor(pieces)
        embeddings[new_id] = embeddings[index].mean(0)
        if untied_output:
            output.weight[new_id] = output.weight[index].mean(0)
        if bias is not None:
            bias[new_id] = bias[index].mean()


# ---------------------------------------------------------------------------------------------- trimming
def corpus_token_counts(corpus_dirs: Iterable[Path], size: int) -> np.ndarray:
    """How often each token id occurs in the given corpora (all splits), vectorised over memory-mapped shards."""
    from medadapt.corpus.shards import open_corpus

    counts = np.zeros(size, dtype=np.int64)
    for path in corpus_dirs:
        corpus = open_corpus(path)
        for name in corpus.splits:
            for shard in corpus.split(name).shards:
                for row, length in zip(shard.tokens, shard.lengths, strict=True):
                    counts += np.bincount(np.asarray(row[:length], dtype=np.int64), minlength=size)[:size]
    return counts


def trim_plan(tokenizer: PreTrainedTokenizerBase, counts: np.ndarray, *, keep_single_chars: bool = True) -> np.ndarray:
    """Old ids to keep, ascending: observed pieces, specials, and (optionally) all single-character pieces."""
    keep = counts[: len(tokenizer)] > 0
    keep[list(tokenizer.all_special_ids)] = True
    if keep_single_chars:
        for token, index in tokenizer.get_vocab().items():
            bare = token[2:] if token.startswith("##") else token.lstrip("▁")
            if len(bare) <= 1 and index < len(keep):
                keep[index] = True
    return np.nonzero(keep)[0]


def _remap_ids(node: Any, mapping: dict[int, int]) -> Any:
    """Rewrite special-token ids inside post-processor / added-token JSON."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "id" and isinstance(value, int):
                out[key] = mapping[value]
            elif key == "ids" and isinstance(value, list):
                out[key] = [mapping[v] for v in value]
            elif key in ("sep", "cls") and isinstance(value, list) and len(value) == 2:
                out[key] = [value[0], mapping[value[1]]]
            else:
                out[key] = _remap_ids(value, mapping)
        return out
    if isinstance(node, list):
        return [_remap_ids(v, mapping) for v in node]
    return node


def trim_vocabulary(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    keep_ids: np.ndarray,
    out_dir: Path,
) -> dict[str, Any]:
    """Keep `keep_ids` (ascending old ids) in model and tokenizer; save both; return report with the id map."""
    data = _tokenizer_json(tokenizer)
    mapping = {int(old): new for new, old in enumerate(keep_ids)}
    id_to_token = {i: t for t, i in tokenizer.get_vocab().items()}
    if data["model"]["type"] == "WordPiece":
        data["model"]["vocab"] = {id_to_token[int(old)]: new for new, old in enumerate(keep_ids)}
    else:
        pieces = data["model"]["vocab"]
        data["model"]["vocab"] = [pieces[int(old)] for old in keep_ids]
        if data["model"].get("unk_id") is not None:
            data["model"]["unk_id"] = mapping[data["model"]["unk_id"]]
    data["added_tokens"] = [t for t in data.get("added_tokens", []) if t["id"] in mapping]
    data["added_tokens"] = _remap_ids(data["added_tokens"], mapping)
    if data.get("post_processor"):
        data["post_processor"] = _remap_ids(data["post_processor"], mapping)
    new_tokenizer = _reload(tokenizer, data, out_dir)
    _select_rows(model, torch.as_tensor(keep_ids, dtype=torch.long))
    model.config.pad_token_id = mapping.get(model.config.pad_token_id, model.config.pad_token_id)
    model.save_pretrained(out_dir, safe_serialization=True)
    old_to_new = np.full(max(len(tokenizer), int(keep_ids.max()) + 1), -1, dtype=np.int64)
    old_to_new[keep_ids] = np.arange(len(keep_ids))
    np.save(out_dir / "trim_old_to_new.npy", old_to_new)
    return {
        "tokenizer_size_before": len(tokenizer),
        "tokenizer_size_after": len(new_tokenizer),
        "kept": len(keep_ids),
        "parameters_removed": int((len(tokenizer) - len(keep_ids)) * model.config.hidden_size),
        "id_map": str(out_dir / "trim_old_to_new.npy"),
    }


@torch.no_grad()
def _select_rows(model: PreTrainedModel, keep: torch.Tensor) -> None:
    embeddings = model.get_input_embeddings().weight.detach().clone()
    output = model.get_output_embeddings()
    tied = output is not None and output.weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()
    out_weight = output.weight.detach().clone() if output is not None and not tied else None
    bias = output.bias.detach().clone() if output is not None and output.bias is not None else None
    model.resize_token_embeddings(len(keep), mean_resizing=False)
    model.get_input_embeddings().weight.copy_(embeddings[keep])
    new_output = model.get_output_embeddings()
    if out_weight is not None:
        new_output.weight.copy_(out_weight[keep])
    if bias is not None:
        new_output.bias.copy_(bias[keep])


def load_pair(model_dir: str) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    from medadapt.loading import load_pretrained
    from medadapt.pretrain.model import load_tokenizer

    tokenizer = load_tokenizer(model_dir)
    model, _ = load_pretrained(AutoModelForMaskedLM.from_pretrained, model_dir, head="warn")
    return model, tokenizer


def fertility(tokenizer: PreTrainedTokenizerBase, texts: Iterable[str]) -> float:
    """Subword pieces per word, the number vocabulary changes are meant to move."""
    words = pieces = 0
    for text in texts:
        encoded = tokenizer(text, add_special_tokens=False)
        ids = encoded["input_ids"]
        word_ids = encoded.word_ids()
        pieces += len(ids)
        words += len({w for w in word_ids if w is not None})
    return pieces / words if words else math.nan
