"""`ScreeningConfig`: one YAML describes a patient-screening run (model, data, chunking, pooling, imbalance, threshold).

Defaults follow the real task (../shared/TASKS.md): the unit is the patient, whose notes are read newest-first and
cut into overlapping chunks; chunk scores are pooled to the note and note scores to the patient; the operating
threshold is chosen on dev for 95% sensitivity, because a screening tool that misses patients is the costly error.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from medadapt.config import StrictModel
from medadapt.training import TrainingSection

Pooling = Literal["max", "mean", "lse", "attention"]
TokenPooling = Literal["cls", "max", "lse"]


# the fields that say how to read notes: stored with a model (screening.json) and given to a study's evaluations
DATA_FIELDS = ("format", "text_field", "label_field", "patient_field", "date_field", "id_field", "lang")


class ScreeningDataSection(StrictModel):
    train: str
    dev: str | None = None  # needed for model selection and the threshold; else split off train (see `split`)
    test: str | None = None
    format: Literal["auto", "jsonl", "csv", "tsv", "folders"] = "auto"  # folders: <root>/<label>/<note>.txt
    text_field: str = "text"
    label_field: str = "label"
    patient_field: str = "patient_id"  # absent values: each note is its own patient (counted in the report)
    date_field: str | None = "date"  # ISO dates sort newest-first; notes without a date go last
    id_field: str = "id"
    lang: str | None = None
    # Without a dev (and/or test) file, a stratified patient-grouped split of train: fractions of train/dev/test.
    split: tuple[float, float, float] | None = None
    split_seed: int = 0


class LabelSection(StrictModel):
    kind: Literal["auto", "binary", "multiclass", "multilabel"] = "auto"  # auto: lists → multilabel, 2 values → binary
    positive: str | None = None  # binary: the label that means "flag this patient" (default "1"/"true"/"yes"/"pos…")
    labels: list[str] | None = None  # the label set and order (default: sorted labels seen in train)
    multilabel_separator: str = "|"  # CSV cells such as "a|b" for multi-label data


class ChunkingSection(StrictModel):
    """How a note becomes model inputs. `windows` covers all of it; `head` and `head_tail` are the truncation
    baselines (one chunk per note: the first tokens, or the first `head_fraction` plus the last tokens)."""

    strategy: Literal["windows", "head", "head_tail"] = "windows"
    max_length: int = Field(512, ge=16)  # subword tokens per chunk, special tokens included
    stride: int = Field(64, ge=0)  # tokens shared by consecutive windows
    head_fraction: float = Field(0.25, ge=0.0, le=1.0)
    max_chunks_per_patient: int | None = Field(None, ge=1)  # newest notes kept first; dropped chunks are counted


class PoolingSection(StrictModel):
    """lse: the smooth maximum (1/r)·log(mean(exp(r·x))) with r = `lse_sharpness`; see screening_pooling.

    `token_to_chunk` says where a chunk's score comes from: `cls` is the usual sequence-classification head on the
    [CLS] vector; `max` / `lse` score every token with a token-classification head and pool the token logits, so
    a decisive phrase anywhere in a chunk reaches the loss directly instead of through [CLS] attention (see
    screening_model for why and what it measured)."""

    token_to_chunk: TokenPooling = "cls"
    chunk_to_note: Pooling = "max"
    note_to_patient: Pooling = "max"
    lse_sharpness: float = Field(1.0, gt=0)


class ImbalanceSection(StrictModel):
    loss: Literal["ce", "weighted", "focal"] = "ce"  # weighted: positive/class weights from train frequencies
    focal_gamma: float = Field(2.0, ge=0.0)
    downsample_ratio: float | None = Field(None, gt=0)  # negatives kept per positive patient in train (binary)


class ThresholdSection(StrictModel):
    objective: Literal["sensitivity", "f1"] = "sensitivity"
    target_sensitivity: float = Field(0.95, gt=0.0, le=1.0)


class EvaluationSection(StrictModel):
    selection_metric: str = "auprc"  # dev metric for early stopping / best model (binary: auprc, auroc, f1, …)
    bootstrap_resamples: int = Field(1000, ge=0)  # 0: no confidence intervals
    confidence: float = Field(0.95, gt=0.0, lt=1.0)
    calibration_bins: int = Field(10, ge=2)
    explain_top_k: int = Field(3, ge=0)  # top chunks written beside every flagged patient
    write_text: bool = False  # evidence snippets in predictions; off by default: predictions must not carry notes


class ScreeningConfig(StrictModel):
    model: str  # a save_pretrained folder or a hub id (offline: a folder)
    data: ScreeningDataSection
    labels: LabelSection = LabelSection()
    unit: Literal["patient", "note"] = "patient"  # note: every note is scored and evaluated on its own
    chunking: ChunkingSection = ChunkingSection()
    pooling: PoolingSection = PoolingSection()
    imbalance: ImbalanceSection = ImbalanceSection()
    threshold: ThresholdSection = ThresholdSection()
    evaluation: EvaluationSection = EvaluationSection()
    training: TrainingSection = TrainingSection(batch_size=4, eval_batch_size=32, epochs=5)
    out_dir: str = "runs/screening"

    @model_validator(mode="after")
    def _consistent(self) -> ScreeningConfig:
        if self.chunking.stride >= self.chunking.max_length - 2:
            raise ValueError(
                f"chunking.stride ({self.chunking.stride}) must be smaller than max_length - 2 "
                f"({self.chunking.max_length - 2}): windows would never advance"
            )
        if self.data.split is not None and (any(f < 0 for f in self.data.split) or sum(self.data.split) <= 0):
            raise ValueError(f"data.split must be three non-negative fractions, got {self.data.split}")
        return self

    def seed_list(self) -> list[int]:
        return self.training.seed_list()
