"""Tokenizing a stream of document batches in input order, in-process or in a pool of worker processes.

Why its own module: the pool's workers import the function they run by module path, and the ordering window
(at most 2 × workers batches in flight, consumed in submission order) is what makes a corpus identical whatever the
worker count — a property of its own, apart from what the corpus build does with the tokens.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

from medadapt.corpus.tokenize import BatchEncoder, EncodedBatch


class HasText(Protocol):
    text: str


T = TypeVar("T", bound=HasText)


def batches(docs: Iterator[T], batch_chars: int) -> Iterator[list[T]]:
    """Documents grouped into batches of about `batch_chars` characters (the last one may be smaller)."""
    batch: list[T] = []
    size = 0
    for doc in docs:
        batch.append(doc)
        size += len(doc.text)
        if size >= batch_chars:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


@contextmanager
def worker_pool(workers: int, encoder: BatchEncoder) -> Iterator[Any]:
    """A process pool whose workers each hold a single-threaded copy of the encoder (None for workers=0).

    fork where the platform has it (no re-import of the caller's __main__, unlike spawn); the parent has not
    run the Rust tokenizer's thread pool at this point, so the forked children start clean.
    """
    if workers <= 0:
        yield None
        return
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    with context.Pool(workers, initializer=_init_worker, initargs=(encoder,)) as pool:
        yield pool


def run_batches(
    batches: Iterator[list[T]],
    encoder: BatchEncoder,
    consume: Callable[[list[T], EncodedBatch], None],
    pool: Any,
    workers: int,
) -> None:
    """Tokenize batches in input order: in-process, or in the pool with at most 2 × workers batches in flight."""
    if pool is None:
        # One helper thread runs the Rust encoder (which releases the GIL) on batch k while this thread reads,
        # cleans and deduplicates batch k+1 and packs batch k-1.
        with ThreadPoolExecutor(1) as threads:
            window: deque[tuple[list[T], Any]] = deque()
            for batch in batches:
                window.append((batch, threads.submit(encoder, [k.text for k in batch])))
                if len(window) > 1:
                    done, future = window.popleft()
                    consume(done, future.result())
            while window:
                done, future = window.popleft()
                consume(done, future.result())
        return
    window = deque()
    for batch in batches:
        window.append((batch, pool.apply_async(_encode_in_worker, ([k.text for k in batch],))))
        if len(window) > 2 * workers:
            done, result = window.popleft()
            consume(done, result.get())
    while window:
        done, result = window.popleft()
        consume(done, result.get())


_WORKER_ENCODER: BatchEncoder | None = None


def _init_worker(encoder: BatchEncoder) -> None:
    global _WORKER_ENCODER
    _WORKER_ENCODER = encoder


def _encode_in_worker(texts: list[str]) -> EncodedBatch:
    assert _WORKER_ENCODER is not None
    return _WORKER_ENCODER(texts)
