"""The pre-training run, as one YAML file: model, corpora with mixing weights, masking, optimisation, checkpoints.

Defaults follow common practice for continued pre-training of BERT-base encoders (BERT/RoBERTa papers, the HF
`run_mlm.py` example): 15% masking with 80/10/10, whole-word masking, AdamW lr 5e-5 with 6% linear warm-up, weight
decay 0.01, gradient clipping at 1.0.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from medadapt.config import StrictModel


class CorpusSource(StrictModel):
    """A corpus folder written by `medadapt corpus build`, with its sampling weight in the mix."""

    path: str
    weight: float = Field(1.0, gt=0)
    name: str | None = None


class ModelSection(StrictModel):
    name_or_path: str = "bert-base-multilingual-cased"
    from_config: dict[str, Any] | None = Field(
        None,
        description="Start from scratch with this HF config (e.g. {model_type: bert, hidden_size: 64, ...}); "
        "vocab size and special ids come from the tokenizer.",
    )
    tokenizer: str | None = Field(None, description="Tokenizer folder/id; default: the model's own.")
    attn_implementation: Literal["sdpa", "eager"] | None = "sdpa"
    pad_vocab_multiple: int = Field(64, ge=1)


class MaskingSection(StrictModel):
    probability: float = Field(0.15, gt=0, lt=1)
    mask_fraction: float = Field(0.8, ge=0, le=1)
    random_fraction: float = Field(0.1, ge=0, le=1)
    whole_word: bool = True


class TrainingSection(StrictModel):
    """Optimisation settings of pre-training, named as fine-tuning's `training:` section wherever the setting is
    the same (`medadapt.training.TrainingSection`): `learning_rate`, and `batch_size` blocks per process and
    micro-step (the global batch is batch_size × gradient_accumulation × processes). Why `batch_size` over
    `per_device_batch_size`: on CPU under torchrun a "device" is a process, and every other batch setting in
    medadapt is a plain `batch_size`. The old name still loads (`StrictModel.renamed`).
    """

    renamed: ClassVar[dict[str, str]] = {"per_device_batch_size": "batch_size"}

    batch_size: int = Field(16, ge=1)
    gradient_accumulation: int = Field(1, ge=1)
    max_steps: int = Field(1000, ge=1)
    learning_rate: float = Field(5e-5, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    adam_betas: tuple[float, float] = (0.9, 0.98)
    adam_eps: float = 1e-6
    warmup_ratio: float = Field(0.06, ge=0, lt=1)
    schedule: Literal["linear", "cosine", "constant"] = "linear"
    max_grad_norm: float | None = 1.0
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    compile: bool = False
    sparse_head: bool = Field(True, description="Compute the output projection at masked positions only.")
    fused_adamw: bool = Field(
        True,
        description="torch's fused AdamW kernel (same update, one kernel over all parameters; CPU and CUDA). "
        "False = torch's default implementation (a per-tensor loop on CPU, foreach on CUDA).",
    )
    seed: int = 0
    log_every: int = Field(10, ge=1)


class CheckpointSection(StrictModel):
    every: int = Field(500, ge=1)
    keep_last: int = Field(3, ge=1)


class EvalSection(StrictModel):
    every: int = Field(500, ge=1)
    max_blocks: int = Field(256, ge=1, description="Validation blocks per corpus (fixed masks, comparable).")
    batch_size: int = Field(32, ge=1)


class PretrainConfig(StrictModel):
    out_dir: str = "runs/pretrain"
    model: ModelSection = ModelSection()
    corpora: list[CorpusSource] = Field(..., min_length=1)
    masking: MaskingSection = MaskingSection()
    training: TrainingSection = TrainingSection()
    checkpoint: CheckpointSection = CheckpointSection()
    eval: EvalSection = EvalSection()

    @model_validator(mode="after")
    def _fractions(self) -> PretrainConfig:
        if self.masking.mask_fraction + self.masking.random_fraction > 1:
            raise ValueError("masking.mask_fraction + masking.random_fraction must be at most 1")
        return self

    def corpus_names(self) -> list[str]:
        names = []
        for i, source in enumerate(self.corpora):
            names.append(source.name or source.path.rstrip("/").split("/")[-1] or f"corpus{i}")
        if len(set(names)) != len(names):
            raise ValueError(f"corpus names must be unique, got {names}; set `name:` on each corpus")
        return names
