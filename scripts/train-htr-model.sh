#!/usr/bin/env bash
# The chain behind models/htr: six `indexer train-htr` runs, each fine-tuning the one before
# (--init-from), with the flags the shipped weights were trained with, in order; then the
# two-tier lexicon. About 3.5 hours of training budget (the --max-minutes values) on 2 cores.
# The shipped weights came from these runs made one by one while the code changed between them,
# so with today's code this gives a new draw of today's recipe, not a copy of models/htr
# (see its MODEL_CARD.md). It writes to OUT (default build/htr), not to models/htr: compare with
# `indexer evaluate-ocr`, then copy what should ship. DATA and OUT override the paths.
set -euo pipefail

DATA=${DATA:-../shared/data/contracts-dev}
OUT=${OUT:-build/htr}
INDEXER=${INDEXER:-.venv/bin/indexer}

# run N INIT_FROM OPTIONS...: one run into $OUT/run-N, fine-tuning INIT_FROM unless it is "-".
run() {
  local out="$OUT/run-$1" init=$2
  shift 2
  local from=()
  [[ $init == - ]] || from=(--init-from "$init")
  "$INDEXER" -v train-htr --output "$out" "${from[@]}" \
    --transcriptions "$DATA/transcriptions.json" --images "$DATA/images" --epochs 20 "$@"
}

run 1 - --synthetic 40000 --real-copies 80 --max-minutes 30 --learning-rate 0.0015
run 2 "$OUT/run-1" --synthetic 12000 --real-copies 150 --max-minutes 24 --learning-rate 0.0005 --seed 1
run 3 "$OUT/run-2" --synthetic 20000 --real-copies 150 --max-minutes 40 --learning-rate 0.0005 --seed 2
run 4 "$OUT/run-3" --synthetic 20000 --real-copies 150 --max-minutes 40 --learning-rate 0.0005 --seed 3
run 5 "$OUT/run-4" --synthetic 20000 --real-copies 150 --max-minutes 35 --learning-rate 0.0005 --seed 4
run 6 "$OUT/run-5" --synthetic 20000 --real-copies 150 --max-minutes 30 --learning-rate 0.0005 --seed 5
"$INDEXER" htr-lexicon --model-dir "$OUT/run-6" --transcriptions "$DATA/transcriptions.json"
echo "model: $OUT/run-6"
