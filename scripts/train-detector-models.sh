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
INDEXER=${INDEXER:-.venv/bin/indexer}
# The shipped recipe is the commands' defaults (`indexer train-detector --help`); only overrides
# are passed on.
detector_flags=(${STEPS:+--steps "$STEPS"} ${SYNTHETIC_PAGES:+--synthetic-pages "$SYNTHETIC_PAGES"})
refiner_flags=(${REFINER_STEPS:+--steps "$REFINER_STEPS"} ${REFINER_SAMPLES:+--samples "$REFINER_SAMPLES"})

# train FOLDER HOLD_OUT: the detector (its card spells out every option) and then its refiner.
train() {
  "$INDEXER" train-detector --data "$DATA" --out "$1" --hold-out "$2" "${detector_flags[@]}"
  "$INDEXER" train-refiner --model "$1" --data "$DATA" "${refiner_flags[@]}"
}

folds=()
for fold in 1 2 3; do
  train "$OUT/cv/fold-$fold" "$fold/3"
  folds+=(--model "$OUT/cv/fold-$fold")
done
train "$OUT" none
"$INDEXER" calibrate-detector --data "$DATA" "${folds[@]}" --apply-to "$OUT"
"$INDEXER" evaluate --data "$DATA" --split held-out --out "$OUT/cv/pooled" "${folds[@]}"
