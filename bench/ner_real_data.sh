#!/usr/bin/env bash
# Real-data NER on 2 CPU cores: CT-EBM-SP (UMLS groups, train → dev), PharmaCoNER CongSun CoNLL (train/dev/test)
# and MoNERo (deterministic 80/10/10 split), each fine-tuned from the offline multilingual-e5-small with its
# vocabulary trimmed to the pieces of the task's own text — the path a user without a GPU takes, with the CLI
# only. Prints wall time and strict micro-F1 per type; results go to bench/out/ner-real/<task>/metrics.json.
#
#   bench/ner_real_data.sh                     # EPOCHS=3 MAX_LENGTH=128 STRIDE=32 LR=1e-4 SEED=1 PRECISION=fp32
#   PRECISION=bf16 TASKS=pharmaconer bench/ner_real_data.sh   # bf16 autocast: ~1.7x faster on CPUs with AMX
#   EPOCHS=1 TASKS="monero" bench/ner_real_data.sh
#
# Needs bench/out/e5-small (built by bench/pretrain.py or shared/tools/make_offline_encoder.py). Reads the data
# in place from ../shared/data; nothing is copied into the project.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
BIN=.venv/bin
DATA=../shared/data
MODEL=${MODEL:-bench/out/e5-small}
OUT=${OUT:-bench/out/ner-real}
EPOCHS=${EPOCHS:-3}
MAX_LENGTH=${MAX_LENGTH:-128}
STRIDE=${STRIDE:-32}
LR=${LR:-1e-4}
SEED=${SEED:-1}
PRECISION=${PRECISION:-fp32}
TASKS=${TASKS:-"monero pharmaconer ct-ebm-sp"}
mkdir -p "$OUT"

# trim MODEL to the pieces of the given inputs (format: brat|conll) → $OUT/<task>/model
trim() {
  local task=$1 fmt=$2; shift 2
  "$BIN/medadapt" corpus build "$@" --tokenizer "$MODEL" --out "$OUT/$task/text-corpus" --block-size 128 \
    --val-fraction 0 --quiet --set format="$fmt" --set clean.min_words=0 --set dedup.exact=false \
    --set dedup.near=false
  "$BIN/medadapt" vocab trim "$MODEL" "$OUT/$task/text-corpus" --out "$OUT/$task/model"
}

# fine-tune CONFIG with the trimmed model; wall time into $OUT/<task>/wall_s
finetune() {
  local task=$1 config=$2; shift 2
  local start=$SECONDS
  "$BIN/medadapt" finetune ner "$config" --out "$OUT/$task/run" --no-progress \
    --set model="$OUT/$task/model" --set training.epochs="$EPOCHS" --set training.lr="$LR" \
    --set training.seed="$SEED" --set training.early_stopping_patience=null \
    --set encoding.max_length="$MAX_LENGTH" --set encoding.stride="$STRIDE" --set training.precision="$PRECISION" "$@"
  echo $((SECONDS - start)) > "$OUT/$task/wall_s"
}

for task in $TASKS; do
  case $task in
    monero)
      "$BIN/medadapt" data split "$DATA/ro/monero/MoNERo.txt" --out "$OUT/monero/data" --format conll \
        --label-column 2 --fractions 0.8,0.1,0.1 --seed 0 --unit sentence
      trim monero conll "$OUT/monero/data"/{train,dev,test}.conll
      finetune monero configs/ner/monero.yaml --set data.train="$OUT/monero/data/train.conll" \
        --set data.dev="$OUT/monero/data/dev.conll" --set data.test="$OUT/monero/data/test.conll"
      ;;
    pharmaconer)
      trim pharmaconer conll "$DATA"/es/pharmaconer/conll-congsun/{train,dev,test}.txt
      finetune pharmaconer configs/ner/pharmaconer-conll.yaml
      ;;
    ct-ebm-sp)
      trim ct-ebm-sp brat "$DATA/es/ct-ebm-sp/brat/train" "$DATA/es/ct-ebm-sp/brat/dev"
      finetune ct-ebm-sp configs/ner/ct-ebm-sp-umls.yaml
      ;;
    *) echo "unknown task $task" >&2; exit 2 ;;
  esac
done

"$BIN/python" - "$OUT" $TASKS <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
for task in sys.argv[2:]:
    m = json.loads((out / task / "run" / "metrics.json").read_text())
    split = "test" if "test" in m else "dev"
    strict = m[split]["strict"]
    wall = float((out / task / "wall_s").read_text())
    print(f"\n{task}: {split} strict micro-F1 {strict['micro']['f1']:.4f} (macro {strict['macro']['f1']:.4f}), "
          f"best epoch {m['best_epoch']}/{m['epochs_run']}, wall {wall / 60:.1f} min")
    print("| type | P | R | F1 | gold |")
    print("|---|---:|---:|---:|---:|")
    for label, s in sorted(strict["per_type"].items()):
        print(f"| {label} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | {s['support']} |")
PY
