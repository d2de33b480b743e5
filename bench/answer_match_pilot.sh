#!/usr/bin/env bash
# Pilot for R's match rows (issue 12): a task-1 + task-6 model trained on plain en stories and on
# conversation data (half the main stories renamed, memories interleaved up to 10x, everyday and
# simulated-world stories), hops 3, Adagrad 0.08, 10 epochs, hop maps, match source; one model per
# variant, then bench/conversations.py on tasks 1 and 6 (results: bench/results/pilot-<variant>.md).
#   bench/answer_match_pilot.sh [VARIANT...]   variants: plain (min count 1), count (min count 100),
#                                              match (min count 100 + --answer-match); default all;
#                                              each with --unlabelled-picks (R learns "unknown" on O's picks)
# About 6 min per variant on one core.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${WORK:-$(mktemp -d)}
babi=$(realpath ../shared/babi)
mkdir -p "$work/babi" "$work/data"
ln -sf "$babi"/en-10k/*.txt "$work/babi/"
ln -sf "$babi"/en/qa3_three-supporting-facts_train.txt "$work/babi/"
[ -e "$work/conv" ] || .venv/bin/python -m memnet conversations --babi "$work/babi" --tasks 1,6 --everyday 300 \
  --world 100 --out "$work/conv" --seed 0
ln -sf "$work"/conv/qa*_train.txt "$babi"/en/qa1_*_train.txt "$babi"/en/qa6_*_train.txt "$work/data/"
variants=("$@")
[ ${#variants[@]} -gt 0 ] || variants=(plain count match)
for v in "${variants[@]}"; do
  case $v in
    plain) extra=(--min-count 1) ;;
    count) extra=(--min-count 100) ;;
    match) extra=(--min-count 100 --answer-match) ;;
    *) echo "unknown variant $v" >&2; exit 2 ;;
  esac
  OMP_NUM_THREADS=1 .venv/bin/python -m memnet train --data "$work/data" --joint --input spacy --hops 3 \
    --ngram-buckets 4096 --optimizer adagrad --lr 0.08 --epochs 10 --hop-maps --support-bigrams --match-source \
    --align-maps --unlabelled-picks "${extra[@]}" --out "$work/model-$v"
  OMP_NUM_THREADS=1 .venv/bin/python bench/conversations.py --model "$work/model-$v" --tasks 1,6 --before /dev/null --out "pilot-$v"
done
