#!/usr/bin/env bash
# Trains the bundled default model (assets/model): one joint model on all 20 bAbI tasks
# (en-10k, plus en's task 3 train file, which en-10k lacks), the paper's simulated world and the
# project's conversation data (memnet/data/conversations.py: bAbI, simulated and everyday stories
# interleaved up to 6x, half the bAbI ones renamed, rooms, shapes and boxes too, questions without an answer), with the spaCy
# input map, the unseen-word features, and R's match rows (issue 12). Then writes its per-task scores.
#   scripts/train_default.sh [BABI_DIR]        (default: ../shared/babi; OUT=folder, default assets/model)
# Its defaults are the bundled model's recipe (candidate RNA9 of bench/results/conversations-candidates.md, trained
# on branch rn at 7f8be90 (main at 4ba2421 plus the data change main has since 3817079; main's I since differs only in 41afa1d's narrower plural-name rule), whose data and settings these are; 2,213 s of training beside another one:
# three restarts, one after another); the candidates set other values in the environment:
#   EVERYDAY=N      everyday main stories (default 2000)
#   WORLD=N         simulated-world main stories with redrawn names (default 1000)
#   STORIES=N       interleaved copies of each bAbI task's train stories (memnet conversations --stories; default 50)
#   COUNTING=N      counting stories in bAbI 7's words (memnet conversations --counting: how many objects someone
#                   holds, or which; bench/count_pilot.py's lever for task 7); default 0
#   MIX=S           besides every en-10k train story, a copy of a share S of them with their people and
#                   places drawn from every task's (memnet conversations --mixed: a name or place no longer
#                   tells which task, so which kind of answer, a question is from); default 0.3 (0: none)
#   MIX_UNKNOWN=U   a share U of those copies with a question about someone or something never named (default 0.05)
#   MIX_RENAMED=R   a share R of those copies renamed from the training Faker pools instead (every person,
#                   place and object a word without rows: the renamed benchmark's kind); default 0.5
#   MIX_BALANCE=B   more copies of a smaller train file's stories (en's task 3: 1,000 questions among
#                   en-10k's 10,000 a task), so that it is at least B times the largest (1: every task's
#                   file about as large); default 0.6 (0: off)
#   SEED=N          the draw of the conversation data and of training (default 9); the simulated test
#                   sets keep their seeds, so every draw is scored on the same files
#   EPOCHS=N        training epochs (default 3)
#   ENTITY_ROLES=1  R reads its first two supports in the question's order (memnet train --entity-roles;
#                   BABI_SETTINGS has it); default 1 (0: off)
#   SET_ANSWERS=1   R answers every candidate above a learned END row, bAbI 8's lists as sets of items
#                   (memnet train --set-answers; BABI_SETTINGS has it); default 1 (0: off)
#   INIT=DIR        continue training the checkpoint DIR (memnet train --init: its vocabulary and settings
#                   stay; EPOCHS, SEED, LR and AVERAGE apply), e.g. INIT=assets/model RESTARTS=1 EPOCHS=1 LR=0.01; default: a fresh model
#   LR=X            Adagrad's learning rate (default 0.08)
#   AVERAGE=N       keep the mean of N weight snapshots over the last epoch (memnet train --average:
#                   stochastic weight averaging; BABI_SETTINGS has 10); default 10 (0: the last weights, as
#                   ERSK5, the bundled model before RNA9, was trained)
#   RESTARTS=R      train R models on the same data from seeds SEED + 1000 r and keep the lowest training
#                   error (memnet train --restarts; not with INIT); default 3
#   WORD_HASHING=H  after training, O's §3.3 word hashing from hop H on (memnet configure --word-hashing:
#                   a search setting, no weight changes); default 1: every hop, and the beam's other first
#                   facts, picks only memories sharing a word with the question or the facts found so far
#                   (2: the hops after the first, as ERSK5 searched; 0: off)
set -euo pipefail
cd "$(dirname "$0")/.."
babi="${1:-../shared/babi}"
out="${OUT:-assets/model}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/babi" "$work/data"
ln -s "$(realpath "$babi")"/en-10k/*.txt "$work/babi/"
[ -e "$work/babi/qa3_three-supporting-facts_train.txt" ] || ln -s "$(realpath "$babi")/en/qa3_three-supporting-facts_train.txt" "$work/babi/"
mix="${MIX:-0.3}"
if [ "$mix" = 0 ]; then ln -s "$work"/babi/*.txt "$work/data/"; else ln -s "$work"/babi/*_test.txt "$work/data/"; fi
.venv/bin/python -m memnet simulate --out "$work/data" --setting actor+object --difficulty 5 --seed 11
.venv/bin/python -m memnet simulate --out "$work/data" --setting actor --difficulty 5 --seed 12
.venv/bin/python -m memnet conversations --babi "$work/babi" --out "$work/conv" --seed "${SEED:-9}" --stories "${STORIES:-50}" --test-stories 0 \
  --everyday "${EVERYDAY:-2000}" --world "${WORLD:-1000}" --counting "${COUNTING:-0}" --max-factor 6 \
  $( [ "$mix" = 0 ] || echo --mixed "$work/mixed" --mix "$mix" --mix-unknown "${MIX_UNKNOWN:-0.05}" --mix-renamed "${MIX_RENAMED:-0.5}" --mix-balance "${MIX_BALANCE:-0.6}" )
[ "$mix" = 0 ] || ln -s "$work"/mixed/*_train.txt "$work/data/"   # the bAbI train files with the mixed copies
ln -s "$work"/conv/*_train.txt "$work/data/"   # training only: the benchmark is bench/conversations.py

# the options of bench/babi.py's BABI_SETTINGS, but skip_found_negatives (it costs the simulated
# world's "where is X now" answers: see bench/notes/babi.md); then issue 12's:
# R's match rows, R trained on O's picks where no support is labelled ("unknown"), and words seen
# fewer than 500 times (the redrawn names, places and objects) left unseen
.venv/bin/python -m memnet train --data "$work/data" --tasks all --joint --input spacy --hops 6 \
  --ngram-buckets 4096 --optimizer adagrad --lr "${LR:-0.08}" --epochs "${EPOCHS:-3}" \
  --hop-maps --support-bigrams --match-source --align-maps --beam 5 --pair-margin 3 --compose 100 --dropout-o-only \
  --answer-match --unlabelled-picks --min-count 500 --seed "${SEED:-9}" --restarts "${RESTARTS:-3}" --average "${AVERAGE:-10}" --out "$out" \
  $( [ -z "${INIT:-}" ] || echo --init "$INIT" ) $( [ "${ENTITY_ROLES:-1}" = 0 ] || echo --entity-roles ) $( [ "${SET_ANSWERS:-1}" = 0 ] || echo --set-answers )
# trained without word hashing (its weights are the recipe's as before it existed); O searches with it
.venv/bin/python -m memnet configure --model "$out" --word-hashing "${WORD_HASHING:-1}"
.venv/bin/python -m memnet eval --model "$out" --data "$work/data" --json "$out/scores.json" | tee "$out/scores.txt"
