"""`CorpusBuildConfig`: everything `medadapt corpus build` does, as one typed, YAML-loadable model.

A corpus folder is reproducible from its `resolved_config.yaml`: this model is what gets written there. Sections
(`clean`, `dedup`, `contamination`) mirror the pipeline stages so `--set dedup.threshold=0.9` reads like the step
it changes. CLI flags are applied on top of the YAML (see `medadapt.commands.corpus`).
"""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from medadapt.config import StrictModel


class CleanConfig(StrictModel):
    """Text clean-up and length filters (lengths are measured on the cleaned text)."""

    nfc: bool = True
    min_chars: int = Field(1, ge=0)
    max_chars: int | None = Field(None, ge=1)
    min_words: int = Field(3, ge=0)
    max_words: int | None = Field(None, ge=1)


class DedupConfig(StrictModel):
    """Exact (xxhash of normalised text) and near-duplicate (MinHash + LSH over word shingles) removal."""

    exact: bool = True
    near: bool = True
    threshold: float = Field(0.8, gt=0.0, le=1.0, description="estimated Jaccard at or above which docs are near-dups")
    num_perm: int = Field(128, ge=16, le=512)
    shingle_words: int = Field(5, ge=1, le=20)


class ContaminationConfig(StrictModel):
    """How a corpus document is matched against the `exclude` evaluation sets.

    A document is contaminated if its normalised text hash equals an excluded document's, or its MinHash estimate
    reaches `minhash_threshold`, or at least `sentence_fraction` of its sentences of >= `sentence_min_chars`
    characters occur verbatim in the exclude set, or at least that fraction of one excluded document's long
    sentences occur in it (a corpus document that embeds an evaluation document).
    """

    minhash: bool = True
    minhash_threshold: float = Field(0.8, gt=0.0, le=1.0)
    sentences: bool = True
    sentence_min_chars: int = Field(40, ge=1)
    sentence_fraction: float = Field(0.5, gt=0.0, le=1.0)


class CorpusBuildConfig(StrictModel):
    """One MLM corpus build: inputs → cleaned, filtered, deduplicated, tokenized, packed shards in `out`."""

    inputs: list[str] = Field(default_factory=list)
    out: str | None = None
    tokenizer: str | None = None
    format: str = "auto"
    one_per_line: bool = False
    text_field: str = "text"
    id_field: str = "id"
    lang_field: str = "lang"
    skip_bad: bool = False

    block_size: int = Field(512, ge=8)
    cross_doc_boundaries: bool = True
    val_fraction: float = Field(0.01, ge=0.0, lt=1.0)
    seed: int = 0
    workers: int = Field(1, ge=0, description="tokenizer processes; 0 = tokenizers' own threads in-process")
    batch_chars: int = Field(1_000_000, ge=1_000, description="characters per tokenization batch")
    shard_max_mb: float = Field(64.0, gt=0.0)

    languages: list[str] = Field(default_factory=list, description="keep only these (py3langid codes); [] = off")
    language_min_confidence: float | None = Field(None, ge=0.0, le=1.0)
    deid: str | None = Field(None, description='de-identification hook "package.module:function"')
    exclude: list[str] = Field(default_factory=list, description="evaluation sets whose documents must not leak in")

    clean: CleanConfig = Field(default_factory=CleanConfig)
    dedup: DedupConfig = Field(default_factory=DedupConfig)
    contamination: ContaminationConfig = Field(default_factory=ContaminationConfig)
    top_split_words: int = Field(50, ge=0)
    word_counter_capacity: int = Field(100_000, ge=100)

    @field_validator("languages")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return [v.strip().lower() for v in value if v.strip()]

    @field_validator("deid")
    @classmethod
    def _hook_form(cls, value: str | None) -> str | None:
        if value is not None and (value.count(":") != 1 or not all(value.split(":"))):
            raise ValueError('must look like "package.module:function"')
        return value

    @model_validator(mode="after")
    def _lengths(self) -> CorpusBuildConfig:
        c = self.clean
        if c.max_chars is not None and c.max_chars < c.min_chars:
            raise ValueError("clean.max_chars is below clean.min_chars")
        if c.max_words is not None and c.max_words < c.min_words:
            raise ValueError("clean.max_words is below clean.min_words")
        return self
