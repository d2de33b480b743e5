#!/usr/bin/env bash
# Trains the small checkpoints the app's side-by-side view compares (assets/ablations/<name>): one
# model on the paper's simulated world (actor+object, difficulty 5) with everything on, and the same
# model without one part each, as the paper's ablation tables do:
#   full               k=2, write time (§3.4), unseen-word context (§3.5), exact match (§3.6)
#   k1                 one hop (--hops 1)
#   no-time            without the write-time features (--no-time)
#   no-unseen-match    without the §3.5 and §3.6 features (--no-unseen --no-match)
# Each is about 128 KB (du -k; dim 32, the world's small dictionary). Then each one's scores.
#   scripts/train_ablations.sh            (OUT=folder, default assets/ablations; EPOCHS, default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-assets/ablations}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS=1

.venv/bin/python -m memnet simulate --out "$work/data" --setting actor+object --difficulty 5 \
  --statements 3000 --questions 1500 --seed 21
while read -r name flags; do
  # shellcheck disable=SC2086  # the flags are words
  .venv/bin/python -m memnet train --data "$work/data" --tasks all --joint --input spacy --dim 32 \
    --epochs "${EPOCHS:-10}" $flags --out "$out/$name"
  .venv/bin/python -m memnet eval --model "$out/$name" --data "$work/data" --json "$out/$name/scores.json" \
    | tee "$out/$name/scores.txt"
done <<'LIST'
full
k1 --hops 1
no-time --no-time
no-unseen-match --no-unseen --no-match
LIST
