"""CoNLL/IOB token files (and CoNLL-U) -> documents with character spans over reconstructed text, and back.

Tokens are joined with single spaces and sentences with "\\n", so every task downstream sees characters and
offsets only. Columns are tab separated when a line has a tab (tokens may contain spaces or U+00A0, as in
MoNERo), else space separated. Tag decoding follows conlleval: an I- tag after O or another type starts a new
entity instead of being dropped (MoNERo marks discontinuous entities this way); in IOB2/BIOES files each such
start is counted in `meta["conll_repairs"]`. `-DOCSTART-` lines (and `# newdoc` in CoNLL-U) split documents;
without them a file is one document unless `sentences_as_documents`. Every token line must have the file's
column count (the first token line's; CoNLL-U: 10), so a short line is not read as O and a space-separated
multi-word token does not lose a word. A bad sentence (undecodable line, wrong column count, missing label
column, unknown tag) is the unit that is skipped with skip_bad — the rest of its document is kept and the skip
is recorded.
"""

from __future__ import annotations

import bisect
import re
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from medadapt.documents import Document, Span
from medadapt.io.files import BOM, Line, atomic_writer, base_suffix, iter_lines, stem
from medadapt.io.report import BadInput, OnBad

SCHEMES = ("auto", "IOB1", "IOB2", "BIOES")
_PREFIXES = {"B", "I", "E", "S", "L", "U"}
_BIOES_ONLY = {"E", "S", "L", "U"}
# Tags read as O but counted in meta["conll_tag_fixes"]: MoNERo has one "o" and four empty tag columns.
LENIENT_O = ("o", "")
_TOKEN = re.compile(r"[^ \t\n\r\f\v]+")  # ASCII whitespace only: U+00A0 stays inside tokens


@dataclass
class _Sentence:
    line: int
    tokens: list[str] = field(default_factory=list)
    tags: list[tuple[str, str | None]] = field(default_factory=list)
    error: BadInput | None = None
    fixed_tags: dict[str, int] = field(default_factory=dict)


@dataclass
class _Chunks:
    spans: list[tuple[int, int, str]] = field(default_factory=list)  # token start, end (exclusive), type
    i_starts: int = 0  # I-/E- tags that had to start an entity
    b_after_break: int = 0  # B- tags after O / another type (never happens in IOB1)
    bioes: bool = False


def parse_tag(tag: str) -> tuple[str, str | None] | None:
    """ "B-DISO" -> ("B", "DISO"); "O" -> ("O", None); unknown -> None. "o" and "" are read as O (counted)."""
    if tag == "O" or tag in LENIENT_O:
        return ("O", None)
    prefix, sep, typ = tag.partition("-")
    if sep and prefix.upper() in _PREFIXES and typ:
        return (prefix.upper(), typ)
    return None


def decode(tags: list[tuple[str, str | None]], chunks: _Chunks) -> None:
    """Append one sentence's entities (token ranges) to `chunks`, conlleval style."""
    start, current = 0, None  # current entity type, None outside an entity
    for i, (prefix, typ) in enumerate(tags):
        continues = current is not None and current == typ and prefix in ("I", "E", "L")
        if current is not None and not continues:
            chunks.spans.append((start, i, current))
            current = None
        if prefix == "O":
            continue
        chunks.bioes |= prefix in _BIOES_ONLY
        if not continues:
            if prefix in ("I", "E", "L"):
                chunks.i_starts += 1
            elif prefix == "B" and (i == 0 or tags[i - 1][1] != typ or tags[i - 1][0] in _BIOES_ONLY):
                chunks.b_after_break += 1
            start, current = i, typ
        if prefix in _BIOES_ONLY:  # E-/S- (L-/U-) close the entity on this token
            chunks.spans.append((start, i + 1, typ))  # type: ignore[arg-type]
            current = None
    if current is not None:
        chunks.spans.append((start, len(tags), current))


def _detect_scheme(chunks: _Chunks) -> str:
    if chunks.bioes:
        return "BIOES"
    if chunks.i_starts and not chunks.b_after_break:
        return "IOB1"
    return "IOB2"


class _DocBuilder:
    def __init__(self, path: Path, doc_id: str, line: int, lang: str | None, scheme: str):
        self.path, self.id, self.line, self.lang, self.scheme = path, doc_id, line, lang, scheme
        self.parts: list[str] = []
        self.length = 0
        self.spans: list[Span] = []
        self.chunks = _Chunks()
        self.sentences = 0
        self.fixed_tags: dict[str, int] = {}

    def add(self, sentence: _Sentence) -> None:
        if self.parts:
            self.parts.append("\n")
            self.length += 1
        starts = []
        for j, token in enumerate(sentence.tokens):
            if j:
                self.parts.append(" ")
                self.length += 1
            starts.append(self.length)
            self.parts.append(token)
            self.length += len(token)
        before = len(self.chunks.spans)
        decode(sentence.tags, self.chunks)
        for a, b, typ in self.chunks.spans[before:]:
            self.spans.append(Span(starts[a], starts[b - 1] + len(sentence.tokens[b - 1]), typ))
        self.sentences += 1
        for tag, n in sentence.fixed_tags.items():
            self.fixed_tags[tag] = self.fixed_tags.get(tag, 0) + n

    def build(self) -> Document:
        scheme = _detect_scheme(self.chunks) if self.scheme == "auto" else self.scheme
        meta: dict[str, object] = {
            "source": str(self.path),
            "line": self.line,
            "conll_sentences": self.sentences,
            "conll_scheme": scheme,
            "conll_repairs": 0 if scheme == "IOB1" else self.chunks.i_starts,
        }
        if self.fixed_tags:
            meta["conll_tag_fixes"] = dict(self.fixed_tags)
        return Document(id=self.id, text="".join(self.parts), lang=self.lang, spans=self.spans, meta=meta)


CONLLU_COLUMNS = 10


def _columns(n: int, tab: bool | None = None) -> str:
    """ "1 column", "3 tab-separated columns": how a line was split is half of what went wrong with it."""
    sep = "" if tab is None else ("tab-separated " if tab else "space-separated ")
    return f"{n} {sep}column{'' if n == 1 else 's'}"


@dataclass
class _Columns:
    """The column count every token line of a file must have: the first token line's (CoNLL-U: always 10).

    Why: a short line used to be read as an O token and a space-separated line with one column too many lost a
    token from the text (or had a word read as its tag); both are broken data, not something to guess around.
    """

    expected: int | None = None
    line: int | None = None  # the line that set `expected`; None when the format fixes it

    def check(
        self, cols: list[str], tab: bool, path: Path, number: int, text: str, label_column: int | None
    ) -> BadInput | None:
        """None when `cols` has the file's column count (the first token line sets it), else the error."""
        if self.expected is None:
            self.expected, self.line = len(cols), number
        if len(cols) == self.expected:
            return None
        source = "CoNLL-U token lines have" if self.line is None else "the file's token lines have"
        where = "" if self.line is None else f" (as on line {self.line})"
        detail = f"line has {_columns(len(cols), tab)}, {source} {_columns(self.expected)}{where}: {text[:60]!r}"
        if self.line is None:
            return BadInput(path, "malformed CoNLL-U line", detail, line=number)
        if not tab and len(cols) > self.expected:
            detail += " (a token with a space in it needs tab-separated columns)"
        if self._lacks_label(len(cols), label_column):
            return BadInput(path, "missing label column", detail, line=number)
        return BadInput(path, "wrong column count", detail, line=number)

    def _lacks_label(self, n: int, label_column: int | None) -> bool:
        """Whether a line of `n` columns stops before the label column of the file's layout."""
        assert self.expected is not None
        if label_column is None and self.expected < 2:
            return False  # a one-column file has no labels
        index = -1 if label_column is None else label_column
        return n <= (index if index >= 0 else self.expected + index)


def _add_token(
    sentence: _Sentence, cols: list[str], path: Path, number: int, label_column: int | None
) -> BadInput | None:
    """Append one token line's token and tag to `sentence`; the error when its tag cannot be read."""
    tag: tuple[str, str | None] = ("O", None)
    if len(cols) >= 2 or label_column is not None:
        index = -1 if label_column is None else label_column
        try:
            raw_tag = cols[index]
        except IndexError:
            detail = f"line has {_columns(len(cols))}, label column is {index}"
            return BadInput(path, "missing label column", detail, line=number)
        parsed = parse_tag(raw_tag)
        if parsed is None:
            detail = f"{raw_tag!r} is not O, B-X, I-X, E-X or S-X (is label_column right?)"
            return BadInput(path, "unknown tag", detail, line=number)
        tag = parsed
        if raw_tag in LENIENT_O:
            sentence.fixed_tags[raw_tag] = sentence.fixed_tags.get(raw_tag, 0) + 1
    sentence.tokens.append(cols[0])
    sentence.tags.append(tag)
    return None


def read_conll(
    path: Path,
    on_bad: OnBad,
    *,
    label_column: int | None = None,
    scheme: str = "auto",
    conllu: bool | None = None,
    sentences_as_documents: bool = False,
    lang: str | None = None,
) -> Iterator[Document]:
    """Stream documents from a CoNLL/IOB (or CoNLL-U, detected from `.conllu`) file.

    `label_column` indexes the columns (default: the last one when there are two or more); CoNLL-U has no
    labels (token = FORM, comment lines and multiword-range / empty-node lines skipped). Ids: "<stem>" for a
    whole file, "<stem>:<line>" for a document starting at -DOCSTART- (or a sentence document), the `# newdoc
    id` in CoNLL-U.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    conllu = base_suffix(path) == ".conllu" if conllu is None else conllu
    reader = _Reader(path, on_bad, label_column, scheme, conllu, sentences_as_documents, lang)
    for line in iter_lines(path):
        yield from reader.read_line(line)
    yield from reader.end_document()


class _Reader:
    """The state of reading one CoNLL file: the document being built, the sentence being read, the column count.

    Why a class: each line kind (blank, comment, -DOCSTART-, token) ends a sentence or a document or adds to one,
    so the steps share this state; as methods they read one line kind each.
    """

    def __init__(
        self,
        path: Path,
        on_bad: OnBad,
        label_column: int | None,
        scheme: str,
        conllu: bool,
        sentences_as_documents: bool,
        lang: str | None,
    ) -> None:
        self.path, self.on_bad, self.label_column, self.scheme = path, on_bad, label_column, scheme
        self.conllu, self.sentences_as_documents, self.lang = conllu, sentences_as_documents, lang
        self.name = stem(path)
        self.builder: _DocBuilder | None = None
        self.sentence: _Sentence | None = None
        self.columns = _Columns(CONLLU_COLUMNS if conllu else None)

    def read_line(self, line: Line) -> Iterator[Document]:
        """The documents that one line of the file completes (none, mostly)."""
        text = line.text.rstrip("\r\n")
        if line.number == 1:  # no offsets point into a CoNLL file, so a BOM is not content ("\ufeff-DOCSTART-")
            text = text.removeprefix(BOM)
        if line.error is not None:
            self._fail(line.number, line.error)
        elif not text.strip():
            yield from self.end_sentence()
        elif self.conllu and text.startswith("#"):
            yield from self._comment(text, line.number)
        else:
            tab = self.conllu or "\t" in text
            cols = text.split("\t") if tab else [c for c in text.split(" ") if c]
            if not self.conllu and cols[0] == "-DOCSTART-":
                yield from self._new_document(line.number, f"{self.name}:{line.number}")
            else:
                self._token_line(cols, tab, line.number, text)

    def _comment(self, text: str, number: int) -> Iterator[Document]:
        """A CoNLL-U comment: `# newdoc [id = X]` starts a document, every other comment is skipped."""
        match = re.match(r"#\s*newdoc\b(?:\s+id\s*=\s*(.*))?", text)
        if match:
            yield from self._new_document(number, (match.group(1) or "").strip() or f"{self.name}:{number}")

    def _new_document(self, number: int, doc_id: str) -> Iterator[Document]:
        """End the current document; the next one starts here (unless every sentence is a document)."""
        yield from self.end_document()
        if not self.sentences_as_documents:
            self.builder = self._new_builder(number, doc_id)

    def _token_line(self, cols: list[str], tab: bool, number: int, text: str) -> None:
        """Add one token line to the current sentence, or mark the sentence bad (column count, label, tag)."""
        sentence = self.sentence = self.sentence or _Sentence(number)
        error = self.columns.check(cols, tab, self.path, number, text, self.label_column)
        if error is None:
            if self.conllu:
                _add_conllu_token(sentence, cols)
            else:
                error = _add_token(sentence, cols, self.path, number, self.label_column)
        if error is not None:
            self._fail(number, error)

    def _fail(self, number: int, error: BadInput) -> None:
        """Mark the current sentence (started here if none is) bad; its first error is the one reported."""
        self.sentence = self.sentence or _Sentence(number)
        if self.sentence.error is None:
            self.sentence.error = error

    def _new_builder(self, line: int, doc_id: str) -> _DocBuilder:
        return _DocBuilder(self.path, doc_id, line, self.lang, self.scheme)

    def end_sentence(self) -> Iterator[Document]:
        """Add the finished sentence to its document (a bad one is reported instead); yields a sentence document."""
        done, self.sentence = self.sentence, None
        if done is None:
            return
        if done.error is not None:
            self.on_bad(done.error)
            return
        if self.builder is None:
            doc_id = f"{self.name}:{done.line}" if self.sentences_as_documents else self.name
            self.builder = self._new_builder(done.line, doc_id)
        self.builder.add(done)
        if self.sentences_as_documents:
            yield self.builder.build()
            self.builder = None

    def end_document(self) -> Iterator[Document]:
        """The current document, once its last sentence is in (a document without a good sentence yields none)."""
        yield from self.end_sentence()
        if self.builder is not None and self.builder.sentences:
            yield self.builder.build()
        self.builder = None


def _add_conllu_token(sentence: _Sentence, cols: list[str]) -> None:
    """Append a CoNLL-U word line's FORM (as O); "3-4" multiword ranges and "8.1" empty nodes are skipped."""
    if cols[0].isdigit():
        sentence.tokens.append(cols[1])
        sentence.tags.append(("O", None))


def _token_tags(doc: Document, tokens: list[tuple[int, int, int]], scheme: str) -> tuple[list[str], int]:
    """Tags for a document's tokens `(start, end, sentence)`; returns (tags, count of inexact spans)."""
    tags = ["O"] * len(tokens)
    owner = [-1] * len(tokens)
    starts = [t[0] for t in tokens]
    ends = [t[1] for t in tokens]
    lossy = 0
    pieces = sorted(
        ((a, b, s.label) for s in doc.spans for a, b in (s.fragments or ((s.start, s.end),))),
        key=lambda p: (p[0], -(p[1] - p[0])),
    )
    for k, (a, b, label) in enumerate(pieces):
        first, last = bisect.bisect_right(ends, a), bisect.bisect_left(starts, b) - 1
        if first > last:
            lossy += 1  # a span over whitespace only
            continue
        idx = range(first, last + 1)
        if any(owner[i] != -1 for i in idx) or tokens[first][2] != tokens[last][2]:
            lossy += 1  # nested/overlapping, or across a line break: IOB cannot hold it
            continue
        if starts[first] != a or ends[last] != b:
            lossy += 1  # boundary inside a token
        adjacent = first > 0 and owner[first - 1] != -1 and tags[first - 1][2:] == label
        for n, i in enumerate(idx):
            owner[i] = k
            if scheme == "BIOES":
                prefix = "S" if len(idx) == 1 else "B" if n == 0 else "E" if n == len(idx) - 1 else "I"
            elif scheme == "IOB1":
                prefix = "B" if n == 0 and adjacent else "I"
            else:
                prefix = "B" if n == 0 else "I"
            tags[i] = f"{prefix}-{label}"
    return tags, lossy


def write_conll(docs: Iterable[Document], path: Path, *, scheme: str = "IOB2", docstart: bool = True) -> int:
    """Write `token<TAB>tag` lines, tokens split on ASCII whitespace, one sentence per text line.

    Spans that IOB cannot hold exactly (nested/overlapping, or a boundary inside a token) are written as well
    as possible and counted in a warning — never dropped without a word.
    """
    if scheme not in ("IOB1", "IOB2", "BIOES"):
        raise ValueError(f"scheme must be IOB1, IOB2 or BIOES, got {scheme!r}")
    count = lossy = 0
    with atomic_writer(Path(path)) as out:
        for doc in docs:
            if docstart:
                out.write(b"-DOCSTART-\tO\n\n")
            tokens, pos = [], 0
            for n, sentence_text in enumerate(doc.text.split("\n")):
                tokens.extend((pos + m.start(), pos + m.end(), n) for m in _TOKEN.finditer(sentence_text))
                pos += len(sentence_text) + 1
            tags, bad = _token_tags(doc, tokens, scheme)
            lossy += bad
            lines = []
            for i, (a, b, n) in enumerate(tokens):
                if i and n != tokens[i - 1][2]:
                    lines.append("\n")
                lines.append(f"{doc.text[a:b]}\t{tags[i]}\n")
            if lines:
                out.write(("".join(lines) + "\n").encode("utf-8"))
            count += 1
    if lossy:
        warnings.warn(
            f"{path}: {lossy} span(s) could not be written exactly in {scheme} (nested, overlapping or "
            "not on token boundaries)",
            stacklevel=2,
        )
    return count
