"""`NerConfig`: one YAML describes a NER fine-tuning run (model, data, label mapping, span policy, encoding, training).

The `training:` section is the task-independent `TrainingSection` of `medadapt.training`, so every task tunes the
same knobs under the same names. `label_map` is either a mapping (null drops a type) or the name of a preset, so
the paper's CT-EBM-SP → UMLS-groups reduction is one word in a config instead of 23 copied lines.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from medadapt.config import StrictModel
from medadapt.tasks.ner.label_renaming import CT_EBM_SP_TO_UMLS
from medadapt.training import TrainingSection

LABEL_MAP_PRESETS: dict[str, dict[str, str | None]] = {"ct-ebm-sp-umls": dict(CT_EBM_SP_TO_UMLS)}


class DataSection(StrictModel):
    train: str
    dev: str | None = None  # without dev, the last epoch's model is kept (selection needs a dev set)
    test: str | None = None
    format: Literal["auto", "brat", "conll", "jsonl"] = "auto"
    label_column: int | None = None  # CoNLL label column (default: the last)
    lang: str | None = None  # default language for documents that do not carry one (text normalisation)
    brat_repair: int = Field(0, ge=0)  # move BRAT spans whose text is not at their offsets, within N characters
    # labels from each entity's AnnotatorNotes instead of its type (Mantra GSC: type = CUI; see io/brat.py)
    brat_label_from_note: Literal["last_field", "umls_group"] | None = None
    # a BRAT .txt without its .ann is an error; true reads it as having no entities (counted in data_report.json)
    allow_missing_ann: bool = False


class SpanPolicySection(StrictModel):
    policy: Literal["longest", "first", "priority"] = "longest"
    priority: list[str] | None = None
    discontinuous: Literal["cover", "fragments"] = "cover"


class EncodingSection(StrictModel):
    max_length: int = Field(512, ge=8)
    stride: int = Field(128, ge=0)
    label_all_subwords: bool = False
    sentence_boundaries: bool = False
    scheme: Literal["IOB2", "BIOES"] = "IOB2"


class NerConfig(StrictModel):
    model: str  # a save_pretrained folder or a hub id (offline: a folder)
    data: DataSection
    label_map: dict[str, str | None] | str | None = None
    unmapped: Literal["keep", "drop", "error"] = "keep"
    span_policy: SpanPolicySection = SpanPolicySection()
    encoding: EncodingSection = EncodingSection()
    training: TrainingSection = TrainingSection()
    out_dir: str = "runs/ner"

    @field_validator("label_map")
    @classmethod
    def _known_preset(cls, value: dict[str, str | None] | str | None) -> dict[str, str | None] | str | None:
        if isinstance(value, str) and value not in LABEL_MAP_PRESETS:
            raise ValueError(f"unknown label_map preset {value!r}; presets: {sorted(LABEL_MAP_PRESETS)}")
        return value

    def mapping(self) -> dict[str, str | None] | None:
        """The label mapping to apply, presets expanded (None: keep labels as they are)."""
        if isinstance(self.label_map, str):
            return LABEL_MAP_PRESETS[self.label_map]
        return self.label_map

    def seed_list(self) -> list[int]:
        return self.training.seed_list()
