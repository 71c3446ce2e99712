"""Whole-document tokenization, labelling units and the sliding-window plan, shared by encoder and decoder.

A document is tokenized ONCE, without special tokens and without truncation; windows are then slices of that
one token sequence with the tokenizer's own special tokens put around them. Compared with the tokenizer's
`return_overflowing_tokens`, this gives every token one document-level index, so the decoder can merge the
windows' predictions token by token and nothing depends on how a tokenizer implements overflow.

A *unit* is what one tag is predicted for: a word (tagged on its first subword) when `label_all_subwords=False`,
else every token. Encoder and decoder build units with the same function from the same offsets, which is what
makes encode → decode an exact round trip.

Words are split at punctuation before tokenizing, for every tokenizer: BERT's rule (each punctuation character a
word of its own), done by giving the tokenizer the text with a space at each such boundary (offsets map back to
the original text). Why: a SentencePiece tokenizer (XLM-R, e5, mDeBERTa) splits words on whitespace only and its
pieces cross punctuation ("(HbA1c)," → "▁(", "Hb", "A", "1c", "),"), so an entity "HbA1c" could only come back as
the whole word — a strict miss. A perfect tagger on raw e5 tokens scored strict micro-F1 0.73 on CT-EBM-SP dev,
0.59 on PharmaCoNER's BRAT dev and 0.34 on MEDDOCAN test (bench/ner_truncation.py's data); split as here, the
pieces never cross a gold boundary that punctuation marks. This is also what run_ner.py's pre-split CoNLL words
give a SentencePiece model. BERT's own pre-tokenizer splits exactly there, so BERT-family tokens are unchanged.

Window starts: the next window nominally starts `stride` tokens before the previous one ends; the start is moved
back (never forward, so the overlap is at least `stride`) to a sentence start when asked, else to a word start, so
a window does not open in the middle of a word — but never so far back that a window advances by less than half
its fresh part.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from transformers import PreTrainedTokenizerBase

_SENTENCE_START = re.compile(r"(?:\n|[.!?…]\s)\s*(?=\S)")


@dataclass
class Tokenized:
    """One document's content tokens (no specials) and the tokenizer's special-token template."""

    ids: list[int]
    offsets: list[tuple[int, int]]  # character offsets, whitespace trimmed; (a, a) for tokens without characters
    word_ids: list[int | None]
    prefix: list[int]  # special ids before the content, e.g. [CLS]
    suffix: list[int]  # special ids after it, e.g. [SEP]


def special_template(tokenizer: PreTrainedTokenizerBase) -> tuple[list[int], list[int]]:
    """The ids the tokenizer adds around one sequence, found by encoding a probe with and without them.

    Transformers 5 dropped `build_inputs_with_special_tokens`; probing works for any tokenizer whose single-
    sequence template is prefix + text + suffix (BERT, RoBERTa/XLM-R, DeBERTa).
    """
    bare = tokenizer("a", add_special_tokens=False)["input_ids"]
    full = tokenizer("a", add_special_tokens=True)["input_ids"]
    for i in range(len(full) - len(bare) + 1):
        if full[i : i + len(bare)] == bare:
            return list(full[:i]), list(full[i + len(bare) :])
    raise ValueError(f"cannot find the special-token template of {type(tokenizer).__name__}: {full} vs {bare}")


def tokenize(text: str, tokenizer: PreTrainedTokenizerBase) -> Tokenized:
    """Tokenize a whole document with punctuation split off as words (see module doc); offsets and word ids refer
    to `text` itself (fast tokenizer required: offsets and word ids come from it)."""
    if not getattr(tokenizer, "is_fast", False):
        raise TypeError(f"{type(tokenizer).__name__} is not a fast tokenizer; offsets need one (use_fast=True)")
    spaced, origin = space_punctuation(text)
    enc = tokenizer(spaced, add_special_tokens=False, return_offsets_mapping=True, truncation=False, verbose=False)
    offsets = []
    for a, b in enc["offset_mapping"]:
        while a < b and spaced[a].isspace():  # byte-level / metaspace tokenizers may include the space
            a += 1
        while b > a and spaced[b - 1].isspace():
            b -= 1
        offsets.append((origin[a], origin[b - 1] + 1) if a < b else (origin[a], origin[a]))
    prefix, suffix = special_template(tokenizer)
    return Tokenized(list(enc["input_ids"]), offsets, list(enc.word_ids()), prefix, suffix)


def is_punctuation(char: str) -> bool:
    """BERT's definition: Unicode P* categories plus the ASCII symbols ($, +, <, ^, `, | …) it counts as well."""
    code = ord(char)
    return (
        33 <= code <= 47
        or 58 <= code <= 64
        or 91 <= code <= 96
        or 123 <= code <= 126
        or unicodedata.category(char).startswith("P")
    )


def space_punctuation(text: str) -> tuple[str, list[int]]:
    """`text` with a space wherever punctuation touches another non-space character, and for every character of
    the result the index in `text` it comes from (an inserted space: the character after it; one extra entry
    for the end). BERT's pre-tokenizer splits there already, so BERT-family tokens are unchanged."""
    chars: list[str] = []
    origin: list[int] = []
    previous = " "
    for i, char in enumerate(text):
        if not (previous.isspace() or char.isspace()) and (is_punctuation(char) or is_punctuation(previous)):
            chars.append(" ")
            origin.append(i)
        chars.append(char)
        origin.append(i)
        previous = char
    origin.append(len(text))
    return "".join(chars), origin


@dataclass
class Units:
    """Labelling units in text order: the token that carries the unit's tag and the unit's character range."""

    token: list[int]
    start: list[int]
    end: list[int]

    def __len__(self) -> int:
        return len(self.token)


def build_units(offsets: Sequence[tuple[int, int]], word_ids: Sequence[int | None], by_word: bool) -> Units:
    """Group tokens into units (see module doc); tokens without characters never carry a tag."""
    units = Units([], [], [])
    previous: int | None = None
    for i, ((a, b), word) in enumerate(zip(offsets, word_ids, strict=True)):
        if a == b:
            continue
        if by_word and word is not None and word == previous and units.token:
            units.end[-1] = max(units.end[-1], b)
            continue
        previous = word
        units.token.append(i)
        units.start.append(a)
        units.end.append(b)
    return units


def sentence_start_tokens(text: str, offsets: Sequence[tuple[int, int]]) -> list[int]:
    """Indices of the first token of each sentence (line starts and after . ! ? … followed by whitespace)."""
    starts = [a for a, _ in offsets]
    chars = [m.end() for m in _SENTENCE_START.finditer(text)]
    return sorted({bisect.bisect_left(starts, c) for c in chars} - {0, len(offsets)})


def plan_windows(
    n_tokens: int,
    capacity: int,
    stride: int,
    word_starts: Sequence[bool] | None = None,
    sentence_starts: Sequence[int] | None = None,
) -> list[tuple[int, int]]:
    """Token ranges [start, end) of the windows over `n_tokens` content tokens, `capacity` tokens each at most."""
    if capacity < 1:
        raise ValueError("max_length leaves no room for content tokens after the special tokens")
    if not 0 <= stride < capacity:
        raise ValueError(f"stride must be in [0, {capacity}) for this max_length (got {stride})")
    windows: list[tuple[int, int]] = []
    start = 0
    while True:
        end = min(start + capacity, n_tokens)
        windows.append((start, end))
        if end >= n_tokens:
            return windows
        nominal = end - stride
        lowest = start + max(1, (capacity - stride) // 2)
        nxt = nominal
        if sentence_starts:
            k = bisect.bisect_right(sentence_starts, nominal) - 1
            if k >= 0 and sentence_starts[k] >= lowest:
                nxt = sentence_starts[k]
        if nxt == nominal and word_starts is not None:
            while nxt > lowest and not word_starts[nxt]:
                nxt -= 1
            if not word_starts[nxt]:
                nxt = nominal
        start = nxt
