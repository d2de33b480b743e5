#!/usr/bin/env bash
# Trains the bundled default model (assets/model): one joint model on all 20 bAbI tasks
# (en-10k, plus en's task 3 train file, which en-10k lacks) and the paper's simulated world,
# with the spaCy input map and the unseen-word features on. Then writes its per-task scores.
#   scripts/train_default.sh [BABI_DIR]        (default: ../shared/babi; OUT=folder, default assets/model)
set -euo pipefail
cd "$(dirname "$0")/.."
babi="${1:-../shared/babi}"
out="${OUT:-assets/model}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/data"
ln -s "$(realpath "$babi")"/en-10k/*.txt "$work/data/"
[ -e "$work/data/qa3_three-supporting-facts_train.txt" ] || ln -s "$(realpath "$babi")/en/qa3_three-supporting-facts_train.txt" "$work/data/"
.venv/bin/python -m memnet simulate --out "$work/data" --setting actor+object --difficulty 5 --seed 11
.venv/bin/python -m memnet simulate --out "$work/data" --setting actor --difficulty 5 --seed 12

# the options of bench/babi.py's BABI_SETTINGS, but skip_found_negatives (it costs the simulated
# world's "where is X now" answers: see README, "bAbI: what each task needs")
.venv/bin/python -m memnet train --data "$work/data" --tasks all --joint --input spacy --hops 6 \
  --ngram-buckets 4096 --optimizer adagrad --lr 0.08 --epochs "${EPOCHS:-3}" \
  --hop-maps --support-bigrams --match-source --align-maps --out "$out"
.venv/bin/python -m memnet eval --model "$out" --data "$work/data" --json "$out/scores.json" | tee "$out/scores.txt"
