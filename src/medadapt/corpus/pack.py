"""Packing token streams into fixed-length MLM blocks, fully vectorised.

Block layout (both modes): `[CLS] content [SEP]`, i.e. `block_size - 2` content tokens between the tokenizer's
cls/sep (bos/eos for RoBERTa-style vocabularies).
- `cross_doc=True` (the run_mlm.py `group_texts` behaviour, denser): documents are concatenated with one separator
  token between consecutive documents and the stream is cut every `block_size - 2` tokens; only the very last
  block of a split is padded (nothing is dropped, unlike `group_texts`).
- `cross_doc=False`: every document starts a new block and the remainder of its last block is padded; real
  lengths are recorded so the attention mask can be rebuilt.
Word-start flags travel with the tokens; cls/sep/pad and inter-document separators are never word starts.
"""

from __future__ import annotations

import numpy as np

from medadapt.corpus.shards import ShardWriter


class Packer:
    """Receives batches of (ids, word_starts, doc_lengths) and writes full blocks to a `ShardWriter`."""

    def __init__(
        self, writer: ShardWriter, block_size: int, cls_id: int, sep_id: int, pad_id: int, *, cross_doc: bool
    ) -> None:
        self.writer = writer
        self.block_size = block_size
        self.content = block_size - 2
        self.cls_id, self.sep_id, self.pad_id = cls_id, sep_id, pad_id
        self.cross_doc = cross_doc
        self._pending_ids = np.zeros(0, dtype=np.int64)
        self._pending_starts = np.zeros(0, dtype=bool)
        self._started = False

    def add(self, ids: np.ndarray, word_starts: np.ndarray, doc_lengths: np.ndarray) -> None:
        keep = doc_lengths > 0
        if not keep.all():
            doc_lengths = doc_lengths[keep]
        if not len(doc_lengths):
            return
        if self.cross_doc:
            self._add_stream(ids, word_starts, doc_lengths)
        else:
            self._add_documents(ids, word_starts, doc_lengths)

    def _add_stream(self, ids: np.ndarray, word_starts: np.ndarray, doc_lengths: np.ndarray) -> None:
        begins = np.concatenate(([0], np.cumsum(doc_lengths)[:-1]))
        if not self._started:
            begins = begins[1:]  # no separator before the first document of the split
            self._started = True
        ids = np.insert(ids, begins, self.sep_id)
        word_starts = np.insert(word_starts, begins, False)
        ids = np.concatenate((self._pending_ids, ids))
        word_starts = np.concatenate((self._pending_starts, word_starts))
        n_blocks = len(ids) // self.content
        cut = n_blocks * self.content
        if n_blocks:
            self._emit(ids[:cut].reshape(n_blocks, self.content), word_starts[:cut].reshape(n_blocks, self.content))
        self._pending_ids, self._pending_starts = ids[cut:], word_starts[cut:]

    def _emit(self, content: np.ndarray, starts: np.ndarray) -> None:
        n = len(content)
        tokens = np.empty((n, self.block_size), dtype=np.int64)
        tokens[:, 0] = self.cls_id
        tokens[:, 1:-1] = content
        tokens[:, -1] = self.sep_id
        flags = np.zeros((n, self.block_size), dtype=np.uint8)
        flags[:, 1:-1] = starts
        self.writer.write(tokens, flags, np.full(n, self.block_size, dtype=np.int32))

    def _add_documents(self, ids: np.ndarray, word_starts: np.ndarray, doc_lengths: np.ndarray) -> None:
        c = self.content
        n_chunks = (doc_lengths + c - 1) // c
        first_block = np.concatenate(([0], np.cumsum(n_chunks)[:-1]))
        n_blocks = int(n_chunks.sum())
        doc_begin = np.concatenate(([0], np.cumsum(doc_lengths)[:-1]))
        doc_of_token = np.repeat(np.arange(len(doc_lengths)), doc_lengths)
        local = np.arange(len(ids)) - doc_begin[doc_of_token]
        row = first_block[doc_of_token] + local // c
        col = 1 + local % c
        tokens = np.full((n_blocks, self.block_size), self.pad_id, dtype=np.int64)
        flags = np.zeros((n_blocks, self.block_size), dtype=np.uint8)
        tokens[:, 0] = self.cls_id
        tokens[row, col] = ids
        flags[row, col] = word_starts
        lengths = np.full(n_blocks, self.block_size, dtype=np.int32)
        last_row = first_block + n_chunks - 1
        last_len = doc_lengths - (n_chunks - 1) * c
        tokens[last_row, 1 + last_len] = self.sep_id
        lengths[last_row] = last_len + 2
        self.writer.write(tokens, flags, lengths)

    def finish(self) -> None:
        """Flush the partial last block (padded) and close the writer."""
        rest = len(self._pending_ids)
        if rest:
            tokens = np.full((1, self.block_size), self.pad_id, dtype=np.int64)
            flags = np.zeros((1, self.block_size), dtype=np.uint8)
            tokens[0, 0] = self.cls_id
            tokens[0, 1 : 1 + rest] = self._pending_ids
            tokens[0, 1 + rest] = self.sep_id
            flags[0, 1 : 1 + rest] = self._pending_starts
            self.writer.write(tokens, flags, np.array([rest + 2], dtype=np.int32))
            self._pending_ids = self._pending_ids[:0]
            self._pending_starts = self._pending_starts[:0]
        self.writer.close()
