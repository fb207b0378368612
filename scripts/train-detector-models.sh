#!/usr/bin/env bash
# The whole recipe behind models/detector, from the labelled pages to the shipped folders:
#   1. three cross-validation fold models (train-detector --hold-out N/3), each with its refiner;
#   2. the model trained on every document (--hold-out none), with its refiner;
#   3. the decoding settings (annotation prior, test scales), chosen by nested cross-validation
#      over the folds (calibrate-detector);
#   4. the pooled held-out report of the folds (evaluate --split held-out).
# About 45-80 minutes on 2 cores, with the machine's speed. The budgets (13 + 5 minutes of
# training loop per model, plus about a minute of loading and saving) keep each model's training
# within 20 minutes on a slow machine. It writes to OUT (default build/detector), not to
# models/detector, whose card also holds sections written by hand (cross-validation, limits):
# compare, then copy what should ship.
# DATA, OUT, STEPS, REFINER_STEPS, REFINER_SAMPLES and SYNTHETIC_PAGES override the shipped
# recipe's values (the tests run it with tiny ones).
set -euo pipefail

DATA=${DATA:-../shared/data/contracts-dev}
OUT=${OUT:-build/detector}
STEPS=${STEPS:-3000}
REFINER_STEPS=${REFINER_STEPS:-1500}
REFINER_SAMPLES=${REFINER_SAMPLES:-24000}
SYNTHETIC_PAGES=${SYNTHETIC_PAGES:-120}
INDEXER=${INDEXER:-.venv/bin/indexer}

# train FOLDER HOLD_OUT: the detector (the card's command) and then its refiner.
train() {
  "$INDEXER" train-detector --data "$DATA" --out "$1" --steps "$STEPS" --batch-size 8 \
    --synthetic-pages "$SYNTHETIC_PAGES" --max-minutes 13 --seed 1234 --stem strided --box-head \
    --output-stride 2 --compute-dtype bfloat16 --short-side 576 --crop 320 --hold-out "$2"
  "$INDEXER" train-refiner --model "$1" --data "$DATA" --steps "$REFINER_STEPS" --max-minutes 5 \
    --seed 1 --samples "$REFINER_SAMPLES"
}

folds=()
for fold in 1 2 3; do
  train "$OUT/cv/fold-$fold" "$fold/3"
  folds+=(--model "$OUT/cv/fold-$fold")
done
train "$OUT" none
"$INDEXER" calibrate-detector --data "$DATA" "${folds[@]}" --apply-to "$OUT"
"$INDEXER" evaluate --data "$DATA" --split held-out --out "$OUT/cv/pooled" "${folds[@]}"
