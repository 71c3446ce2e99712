"""Train a BERT-style fast tokenizer (WordPiece or Unigram) on cleaned text, saved as a transformers folder.

Why here: the demo and the tests need small in-domain vocabularies, and a vocabulary trained on text the corpus
builder would not see (uncleaned: BOMs, NBSPs, control characters) wastes entries. Text streams from the readers
through the same `clean_text` as `corpus build`, so memory stays flat (the `tokenizers` trainer keeps only its
word counts). The folder loads with plain `AutoTokenizer.from_pretrained(DIR)` offline, with BERT special tokens
[PAD] [UNK] [CLS] [SEP] [MASK] (ids 0–4) and a `[CLS] … [SEP]` post-processor.

WordPiece training is made reproducible here: the `tokenizers` trainer creates the "##c" continuation pieces
while iterating over a hash map, so their ids — and, through tie-breaking between equally frequent merges, the
vocabulary itself — change from run to run (huggingface/tokenizers#1794, open). `train_wordpiece` registers every
"##c" up front in sorted order (one extra pass over the text for its characters), which fixes both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from medadapt.config import write_resolved_config
from medadapt.corpus.clean import clean_text
from medadapt.errors import ConfigError
from medadapt.io import BadInputReport, expand_inputs, read_documents
from medadapt.progress import make_progress

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
TRAIN_CONFIG_NAME = "tokenizer_train_config.yaml"


def _texts(
    inputs: Sequence[str], fmt: str, one_per_line: bool, skip_bad: bool, report: BadInputReport, show: bool
) -> Iterator[str]:
    progress = make_progress(disable=not show)
    task = progress.add_task("tokenizer training text", total=None)
    with progress:
        for doc in read_documents(list(inputs), fmt, one_per_line=one_per_line, skip_bad=skip_bad, report=report):
            text = clean_text(doc.text)
            progress.advance(task)
            if text:
                yield text


def train_wordpiece(
    texts: Callable[[], Iterable[str]],
    normalizer: Any,
    *,
    vocab_size: int,
    min_frequency: int,
    special_tokens: Sequence[str] = SPECIAL_TOKENS,
    show_progress: bool = False,
) -> Any:
    """A WordPiece `tokenizers.Tokenizer` trained on `texts()` (called twice: characters, then training), the same
    on every run. Normalizer, BERT pre-tokenizer and WordPiece decoder are set; the post-processor is the caller's.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    characters: set[str] = set()
    for text in texts():
        characters.update(normalizer.normalize_str(text))
    continuations = [f"##{c}" for c in sorted(characters) if not c.isspace()]
    trained = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    trained.normalizer = normalizer
    trained.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=[*special_tokens, *continuations],
        show_progress=show_progress,
    )
    trained.train_from_iterator(texts(), trainer=trainer)
    # Rebuilt from the learned vocabulary so that only the real special tokens are special (the "##c" pieces were
    # registered as special tokens only to fix their ids; as specials they would be dropped when decoding).
    tok = Tokenizer(
        models.WordPiece(
            vocab=trained.get_vocab(with_added_tokens=False), unk_token="[UNK]", continuing_subword_prefix="##"
        )
    )
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    tok.add_special_tokens(list(special_tokens))
    return tok


def train_tokenizer(
    inputs: Sequence[str],
    out: str | Path,
    *,
    vocab_size: int = 8000,
    model_type: Literal["wordpiece", "unigram"] = "wordpiece",
    lowercase: bool = False,
    min_frequency: int = 2,
    model_max_length: int = 512,
    fmt: str = "auto",
    one_per_line: bool = False,
    skip_bad: bool = False,
    report: BadInputReport | None = None,
    show_progress: bool = True,
) -> Path:
    """Train on `inputs` (files/folders/globs, any reader format) and save a tokenizer folder at `out`.

    With `skip_bad`, unreadable inputs are counted in `report` (pass one to print its summary afterwards).
    """
    from tokenizers import normalizers

    if vocab_size < len(SPECIAL_TOKENS) + 10:
        raise ConfigError(f"vocab_size {vocab_size} is too small (need at least {len(SPECIAL_TOKENS) + 10})")
    if model_type not in ("wordpiece", "unigram"):
        raise ConfigError(f"tokenizer type {model_type!r}: use wordpiece or unigram")
    files = expand_inputs(list(inputs))
    normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=lowercase, lowercase=lowercase
    )
    report = report if report is not None else BadInputReport()

    def read(counted: BadInputReport) -> Iterator[str]:
        return _texts(inputs, fmt, one_per_line, skip_bad, counted, show_progress)

    if model_type == "wordpiece":
        texts = _counted_once(read, report)
        tok = train_wordpiece(
            texts, normalizer, vocab_size=vocab_size, min_frequency=min_frequency, show_progress=show_progress
        )
    else:
        tok = _train_unigram(read(report), normalizer, vocab_size=vocab_size, show_progress=show_progress)
    out = _save(tok, Path(out), model_max_length)
    settings = {
        "inputs": list(inputs),
        "vocab_size": vocab_size,
        "type": model_type,
        "lowercase": lowercase,
        "min_frequency": min_frequency,
        "model_max_length": model_max_length,
        "bad_inputs_skipped": report.count,
        "final_vocab_size": tok.get_vocab_size(),
    }
    write_resolved_config(out, settings, files, name=TRAIN_CONFIG_NAME)
    return out


def _counted_once(
    read: Callable[[BadInputReport], Iterator[str]], report: BadInputReport
) -> Callable[[], Iterator[str]]:
    """The texts for a trainer that reads them more than once; bad inputs are counted in `report` on the first
    pass only, so a skipped file is one skip, not one per pass."""
    passes = 0

    def texts() -> Iterator[str]:
        nonlocal passes
        passes += 1
        return read(report if passes == 1 else BadInputReport())

    return texts


def _train_unigram(texts: Iterator[str], normalizer: Any, *, vocab_size: int, show_progress: bool) -> Any:
    """A Unigram `tokenizers.Tokenizer` (Metaspace after the BERT pre-tokenizer); the post-processor is the caller's."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.BertPreTokenizer(), pre_tokenizers.Metaspace()])
    tok.decoder = decoders.Metaspace()
    tok.normalizer = normalizer
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, unk_token="[UNK]", show_progress=show_progress
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return tok


def _save(tok: Any, out: Path, model_max_length: int) -> Path:
    """Add the `[CLS] … [SEP]` post-processor and save `tok` as a transformers fast-tokenizer folder at `out`."""
    from tokenizers import processors
    from transformers import PreTrainedTokenizerFast

    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=model_max_length,
    )
    out.mkdir(parents=True, exist_ok=True)
    wrapped.save_pretrained(str(out))
    return out
