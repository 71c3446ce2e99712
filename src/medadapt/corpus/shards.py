"""On-disk corpus format: memory-mapped `.npy` shards + `manifest.json`; writer and validating reader.

Layout of a corpus folder:
    manifest.json                      format version, tokenizer identity, block size, dtype, shards, totals
    train-00000.tokens.npy             [n_blocks, block_size] uint16 (vocab <= 65,536) or int32
    train-00000.word_starts.npy        [n_blocks, block_size] uint8, 1 where a token begins a word
    train-00000.lengths.npy            [n_blocks] int32 real lengths, only for shards that contain padding
    validation-00000.*                 the held-out split, same layout
Why plain .npy: `np.load(mmap_mode="r")` maps it with no extra dependency, torch can wrap it without a copy, and
anyone can inspect it. Shards are bounded (`max_bytes` of tokens) and written one at a time (temp file + rename),
so memory stays flat and a crashed build never leaves a truncated shard under a final name.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from medadapt.config import file_sha256
from medadapt.errors import InputError

FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
STAGING_NAME = ".tmp-build"  # where a build writes before it replaces the corpus (a left-over: unfinished)
SPLITS = ("train", "validation")


def token_dtype(vocab_size: int) -> np.dtype:
    return np.dtype(np.uint16) if vocab_size <= 1 << 16 else np.dtype(np.int32)


def vocab_hash(vocab: dict[str, int]) -> str:
    """sha256 of the sorted (token, id) items: two tokenizers with equal hashes map text to the same ids."""
    digest = hashlib.sha256()
    for token, index in sorted(vocab.items()):
        digest.update(f"{token}\t{index}\n".encode())
    return digest.hexdigest()


def _save(path: Path, array: np.ndarray) -> str:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        np.save(handle, array)
    os.replace(tmp, path)
    return file_sha256(path)


class ShardWriter:
    """Buffers blocks of one split and writes a shard each time `blocks_per_shard` blocks are collected."""

    def __init__(self, out_dir: Path, split: str, block_size: int, dtype: np.dtype, max_bytes: int) -> None:
        self.out_dir, self.split, self.block_size, self.dtype = out_dir, split, block_size, dtype
        self.blocks_per_shard = max(1, max_bytes // (block_size * dtype.itemsize))
        self.shards: list[dict[str, Any]] = []
        self._tokens: np.ndarray | None = None
        self._flags: np.ndarray | None = None
        self._lengths = np.zeros(self.blocks_per_shard, dtype=np.int32)
        self._n = 0

    def write(self, tokens: np.ndarray, flags: np.ndarray, lengths: np.ndarray) -> None:
        if self._tokens is None:  # allocated lazily: np.empty pages cost nothing until written
            rows = min(self.blocks_per_shard, max(len(tokens), 1024))
            self._tokens = np.empty((rows, self.block_size), dtype=self.dtype)
            self._flags = np.empty((rows, self.block_size), dtype=np.uint8)
        done = 0
        while done < len(tokens):
            if self._n == len(self._tokens) and len(self._tokens) < self.blocks_per_shard:
                self._grow()
            take = min(len(tokens) - done, len(self._tokens) - self._n)
            sl = slice(self._n, self._n + take)
            self._tokens[sl] = tokens[done : done + take]
            self._flags[sl] = flags[done : done + take]  # type: ignore[index]
            self._lengths[sl] = lengths[done : done + take]
            self._n += take
            done += take
            if self._n == self.blocks_per_shard:
                self._flush()

    def _grow(self) -> None:
        rows = min(self.blocks_per_shard, 2 * len(self._tokens))  # type: ignore[arg-type]
        for name in ("_tokens", "_flags"):
            old = getattr(self, name)
            new = np.empty((rows, self.block_size), dtype=old.dtype)
            new[: self._n] = old[: self._n]
            setattr(self, name, new)

    def _flush(self) -> None:
        if not self._n:
            return
        n = self._n
        stem = f"{self.split}-{len(self.shards):05d}"
        lengths = self._lengths[:n]
        entry: dict[str, Any] = {"n_blocks": n, "n_tokens": int(lengths.sum()), "files": {}, "sha256": {}}
        parts = {"tokens": self._tokens[:n], "word_starts": self._flags[:n]}  # type: ignore[index]
        if (lengths < self.block_size).any():
            parts["lengths"] = lengths.copy()
        for kind, array in parts.items():
            name = f"{stem}.{kind}.npy"
            entry["files"][kind] = name
            entry["sha256"][name] = _save(self.out_dir / name, array)
        self.shards.append(entry)
        self._n = 0

    def close(self) -> None:
        self._flush()
        self._tokens = self._flags = None

    def summary(self) -> dict[str, Any]:
        return {
            "shards": self.shards,
            "n_blocks": sum(s["n_blocks"] for s in self.shards),
            "n_tokens": sum(s["n_tokens"] for s in self.shards),
        }


class Block(NamedTuple):
    input_ids: np.ndarray
    word_starts: np.ndarray
    length: int


@dataclass
class Shard:
    tokens: np.ndarray  # memory-mapped [n, block_size]
    word_starts: np.ndarray  # memory-mapped [n, block_size]
    lengths: np.ndarray  # [n] (all block_size when the shard has no padding)


class CorpusSplit:
    """The blocks of one split across its shards: `len`, integer indexing and iteration, all memory-mapped."""

    def __init__(self, name: str, shards: list[Shard], block_size: int) -> None:
        self.name, self.shards, self.block_size = name, shards, block_size
        self._offsets = np.cumsum([0] + [len(s.tokens) for s in shards])

    def __len__(self) -> int:
        return int(self._offsets[-1])

    def __getitem__(self, index: int) -> Block:
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"block {index} out of range for split {self.name!r} with {n} blocks")
        s = int(np.searchsorted(self._offsets, index, side="right")) - 1
        shard, i = self.shards[s], index - int(self._offsets[s])
        return Block(shard.tokens[i], shard.word_starts[i], int(shard.lengths[i]))

    def __iter__(self) -> Iterator[Block]:
        for shard in self.shards:
            for i in range(len(shard.tokens)):
                yield Block(shard.tokens[i], shard.word_starts[i], int(shard.lengths[i]))

    @property
    def n_tokens(self) -> int:
        return int(sum(int(s.lengths.sum()) for s in self.shards))


class Corpus:
    """An opened corpus folder: `.manifest` (dict) and `.split(name)`."""

    def __init__(self, path: Path, manifest: dict[str, Any], *, verify: bool) -> None:
        self.path, self.manifest = path, manifest
        self.block_size = int(manifest["block_size"])
        self.dtype = np.dtype(manifest["dtype"])
        self._verify = verify
        self._splits: dict[str, CorpusSplit] = {}

    @property
    def splits(self) -> list[str]:
        return list(self.manifest["splits"])

    def split(self, name: str = "train") -> CorpusSplit:
        if name not in self.manifest["splits"]:
            raise InputError(self.path / MANIFEST_NAME, f"no split {name!r} (have: {', '.join(self.splits)})")
        if name not in self._splits:
            self._splits[name] = CorpusSplit(
                name, [self._open_shard(e) for e in self.manifest["splits"][name]["shards"]], self.block_size
            )
        return self._splits[name]

    def _open_shard(self, entry: dict[str, Any]) -> Shard:
        arrays: dict[str, np.ndarray] = {}
        for kind, name in entry["files"].items():
            path = self.path / name
            if not path.is_file():
                raise InputError(path, "shard file listed in manifest.json is missing")
            if self._verify and file_sha256(path) != entry["sha256"][name]:
                raise InputError(path, "sha256 differs from manifest.json (file changed or truncated)")
            try:
                arrays[kind] = np.load(path, mmap_mode="r")
            except ValueError as exc:
                raise InputError(path, f"not a readable .npy file ({exc})") from exc
        n, shape = entry["n_blocks"], (entry["n_blocks"], self.block_size)
        tokens, flags = arrays.get("tokens"), arrays.get("word_starts")
        if tokens is None or flags is None:
            raise InputError(self.path / MANIFEST_NAME, f"shard entry {entry['files']} lacks tokens/word_starts")
        problems = []
        if tokens.shape != shape or tokens.dtype != self.dtype:
            problems.append(f"tokens {tokens.shape} {tokens.dtype}, manifest says {shape} {self.dtype}")
        if flags.shape != shape:
            problems.append(f"word_starts shape {flags.shape}, manifest says {shape}")
        lengths = arrays.get("lengths")
        lengths = np.asarray(lengths) if lengths is not None else np.full(n, self.block_size, dtype=np.int32)
        if lengths.shape != (n,) or int(lengths.sum()) != entry["n_tokens"]:
            problems.append(f"lengths disagree with n_tokens={entry['n_tokens']}")
        if problems:
            raise InputError(self.path / entry["files"]["tokens"], "; ".join(problems))
        return Shard(tokens, flags, lengths)


def open_corpus(path: str | Path, *, verify: bool = False) -> Corpus:
    """Open a built corpus; shapes and dtypes are always checked, file hashes too with `verify=True`."""
    path = Path(path)
    manifest_path = path / MANIFEST_NAME
    if not manifest_path.is_file():
        if path.is_dir() and (any(path.glob("*.npy")) or (path / STAGING_NAME).exists()):
            # the manifest is written last: shards without one are a build that was stopped or failed
            raise InputError(manifest_path, "missing: the corpus build there did not finish; run `corpus build` again")
        raise InputError(manifest_path, "not a medadapt corpus folder (manifest.json missing); run `corpus build`")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(manifest_path, f"invalid JSON ({exc.msg})", line=exc.lineno) from exc
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise InputError(manifest_path, f"format_version {version!r}; this medadapt reads {FORMAT_VERSION}")
    corpus = Corpus(path, manifest, verify=verify)
    for name in corpus.splits:
        corpus.split(name)  # validate every shard up front: fail at open, not mid-training
    return corpus
