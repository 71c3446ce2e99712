"""The batch prediction engine behind `medadapt predict`: any task's saved model over files of new documents.

Task-agnostic: the model folder says its task (`registry.task_of_model`), the task's predictor predicts and its
prediction sink writes (`Task.prediction_sink`). The engine only reads, batches, resumes and counts:

  - streaming: documents are read and predicted `batch_size` at a time, so memory does not grow with the
    input (a task whose prediction needs several documents, screening's patients, `predicts_units`, reads every
    input first and batches whole units);
  - resume: after each chunk the sink's files are flushed and one line is appended to `.predict-progress.jsonl`
    (the finished unit ids and the sizes of the files the sink appends to). A rerun skips the finished units,
    cuts the appended files back to the last recorded sizes (a chunk a kill interrupted is redone, never kept
    half written or twice) and says how many it skipped;
  - nothing dropped silently: bad input raises an `InputError` naming file and line, or with `skip_bad` is
    counted and reported; a document id seen twice is an error (its outputs would overwrite each other).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from medadapt.documents import Document
from medadapt.errors import ConfigError, InputError
from medadapt.io.report import BadInputReport

PROGRESS_FILE = ".predict-progress.jsonl"


class PredictionSink(Protocol):
    """Where one task writes its predictions inside the output folder."""

    append_files: tuple[str, ...]  # files (relative to the output folder) that `write` appends to

    def write(self, predictions: list[Any]) -> None:
        """Write one chunk's predictions; flushed (and fsynced) on return."""
        ...


@dataclass
class PredictResult:
    task: str
    out_dir: Path
    predicted: int = 0  # units predicted in this run (documents; screening: patients or notes as grouped)
    skipped: int = 0  # units a previous run had finished
    bad: BadInputReport = field(default_factory=BadInputReport)
    seconds: float = 0.0


class Progress:
    """The progress record of one output folder: which units are finished, how large the appended files were."""

    def __init__(self, out_dir: Path, header: dict[str, Any], append_files: Sequence[str]) -> None:
        self.path = out_dir / PROGRESS_FILE
        self.out_dir = out_dir
        self.append_files = tuple(append_files)
        self.finished: set[str] = set()
        entries = self._read(header)
        sizes = entries[-1]["sizes"] if entries else {}
        for entry in entries:
            self.finished.update(entry["units"])
        for name in self.append_files:  # cut what a killed chunk appended after the last record
            target = out_dir / name
            if target.exists():
                with open(target, "rb+") as handle:
                    handle.truncate(int(sizes.get(name, 0)))
        lines = [json.dumps(header)] + [json.dumps(e) for e in entries]
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
        os.replace(tmp, self.path)

    def _read(self, header: dict[str, Any]) -> list[dict[str, Any]]:
        if not self.path.is_file():
            for name in self.append_files:  # never cut a file this engine did not write
                if (self.out_dir / name).is_file() and (self.out_dir / name).stat().st_size:
                    raise ConfigError(
                        f"{self.out_dir / name} exists but not from medadapt predict (no {PROGRESS_FILE}); "
                        "give another --out"
                    )
            return []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        try:
            recorded = json.loads(lines[0]) if lines else {}
        except ValueError:
            recorded = {}
        if recorded != header:
            raise ConfigError(
                f"{self.out_dir} holds predictions of another model or output format ({PROGRESS_FILE}); "
                "give another --out or delete that folder"
            )
        entries = []
        for line in lines[1:]:
            try:
                entries.append(json.loads(line))
            except ValueError:  # the line a kill cut short: its chunk is redone
                break
        return entries

    def record(self, units: list[str]) -> None:
        sizes = {}
        for name in self.append_files:
            target = self.out_dir / name
            if target.exists():  # the sink flushed and fsynced it (PredictionSink.write)
                sizes[name] = target.stat().st_size
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"units": units, "sizes": sizes}) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.finished.update(units)


def batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _distinct(documents: Iterable[Document]) -> Iterator[Document]:
    """The documents, refusing an id seen before (two outputs of one name, or a unit skipped by mistake)."""
    seen: dict[str, str] = {}
    for doc in documents:
        source = str(doc.meta.get("source", "?"))
        if doc.id in seen:
            raise InputError(source, f"document id {doc.id!r} appears twice (first in {seen[doc.id]})")
        seen[doc.id] = source
        yield doc


def _units(task: Any, documents: Iterable[Document]) -> Iterator[tuple[str, list[Document]]]:
    """(unit id, its documents): one document each, streaming; whole units (all read first) for a task that
    `predicts_units`."""
    if not task.predicts_units:
        for doc in documents:
            yield doc.id, [doc]
        return
    grouped: dict[str, list[Document]] = {}
    for doc in documents:
        grouped.setdefault(task.unit_of(doc), []).append(doc)
    yield from grouped.items()


def predict_files(
    model_dir: str | Path,
    inputs: Sequence[str | Path],
    out_dir: str | Path,
    *,
    fmt: str = "auto",
    output_format: str | None = None,
    text_field: str = "text",
    id_field: str = "id",
    group_field: str = "group",
    lang: str | None = None,
    skip_bad: bool = False,
    batch_size: int = 64,
    show_progress: bool = True,
    after_chunk: Callable[[int], None] | None = None,
) -> PredictResult:
    """Predict every document of `inputs` with the model in `model_dir` into `out_dir` (see the module doc).
    `lang`: the documents' language where the input does not say (NER normalises text per language, e.g.
    Romanian cedilla/comma letters, as training did); `after_chunk(n_done)` is called after each written chunk
    (tests interrupt a run there)."""
    from medadapt.io import read_documents
    from medadapt.tasks.registry import task_of_model

    if batch_size < 1:
        raise ConfigError(f"--batch-size must be at least 1; got {batch_size}")
    model = Path(model_dir)
    task = task_of_model(model)
    if task.prediction_sink is None:
        raise ConfigError(f"the {task.name} task cannot write predictions")
    chosen = output_format or task.output_formats[0]
    if chosen not in task.output_formats:
        raise ConfigError(f"--output-format {chosen!r}: {task.name} writes {', '.join(task.output_formats)}")
    out = Path(out_dir)
    _refuse_input_folder(out, inputs)
    out.mkdir(parents=True, exist_ok=True)
    sink = task.prediction_sink(out, chosen)
    header = {"model": str(model.resolve()), "task": task.name, "output_format": chosen, "lang": lang}
    progress = Progress(out, header, sink.append_files)
    predictor = task.load(model)
    result = PredictResult(task.name, out)
    documents = read_documents(
        list(inputs),
        fmt,
        text_field=text_field,
        id_field=id_field,
        group_field=group_field,
        lang=lang,
        skip_bad=skip_bad,
        report=result.bad,
    )
    start = time.perf_counter()
    with _bar(show_progress) as advance:
        for chunk in batched(_pending(task, _distinct(documents), progress, result), batch_size):
            predictions = predictor.predict([doc for _, docs in chunk for doc in docs])
            sink.write(predictions)
            progress.record([unit for unit, _ in chunk])
            result.predicted += len(chunk)
            advance(sum(len(docs) for _, docs in chunk), time.perf_counter() - start)
            if after_chunk is not None:
                after_chunk(result.predicted)
    result.seconds = time.perf_counter() - start
    return result


def _refuse_input_folder(out: Path, inputs: Sequence[str | Path]) -> None:
    """An output folder that is an input folder (or holds an input file) would overwrite its texts and gold."""
    target = out.resolve()
    for given in inputs:
        path = Path(given)
        if not path.exists():
            continue  # a glob or a missing path: the reader names it
        folder = path.resolve() if path.is_dir() else path.resolve().parent
        if folder == target:
            raise ConfigError(f"--out {out} is an input folder; predictions would overwrite its files")


def _pending(
    task: Any, documents: Iterable[Document], progress: Progress, result: PredictResult
) -> Iterator[tuple[str, list[Document]]]:
    for unit, docs in _units(task, documents):
        if unit in progress.finished:
            result.skipped += 1
        else:
            yield unit, docs


class _bar:
    """A rich bar with documents/s (the input count is unknown while streaming, so no total)."""

    def __init__(self, show: bool) -> None:
        from rich.progress import TextColumn

        from medadapt.progress import make_progress

        self.progress = make_progress(TextColumn("{task.fields[rate]}"), disable=not show)
        self.done = 0

    def __enter__(self) -> Callable[[int, float], None]:
        self.progress.__enter__()
        task = self.progress.add_task("predicting", total=None, rate="")

        def advance(n: int, seconds: float) -> None:
            self.done += n
            rate = f"{self.done / seconds:.1f} documents/s" if seconds > 0 else ""
            self.progress.update(task, advance=n, rate=rate)

        return advance

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)  # type: ignore[arg-type]
