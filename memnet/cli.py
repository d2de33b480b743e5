"""python -m memnet train | eval | ask | simulate | conversations"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from memnet import checkpoint
from memnet.data import conversations
from memnet.data.babi import BabiFormatError, is_dialog_turn, load_tasks, parse_task_range
from memnet.data.world import add_simulate_arguments, run_simulate
from memnet.dataset import parse_stories
from memnet.evaluate import evaluate, format_table, same_answer, summarize
from memnet.model import ModelConfig
from memnet.runtime import configure
from memnet.input.sentence import make_input_map
from memnet.train import CONTINUED, check_average, check_restarts, train


def _model_config(args: argparse.Namespace) -> ModelConfig:
    return ModelConfig(dim=args.dim, hops=args.hops, time=not args.no_time, unseen_context=not args.no_unseen,
                       match=not args.no_match, ngram_buckets=args.ngram_buckets, word_dropout=args.word_dropout,
                       lr=args.lr, optimizer=args.optimizer, epochs=args.epochs, memory_size=args.memory_size,
                       seed=args.seed, input_map=args.input, hop_maps=args.hop_maps,
                       support_bigrams=args.support_bigrams, match_source=args.match_source,
                       align_maps=args.align_maps, nonlinear=args.nonlinear,
                       skip_found_negatives=args.skip_found_negatives, scan_hinges=args.scan_hinges,
                       answer_match=args.answer_match, min_count=args.min_count, unlabelled_picks=args.unlabelled_picks,
                       fit_check=args.fit_check, average=args.average, beam=args.beam, pair_margin=args.pair_margin, compose=args.compose,
                       dropout_o_only=args.dropout_o_only, word_hashing=args.word_hashing, entity_roles=args.entity_roles,
                       set_answers=args.set_answers, restarts=args.restarts)


def cmd_train(args: argparse.Namespace) -> int:
    tasks = load_tasks(args.data, parse_task_range(args.tasks))
    tasks = [t for t in tasks if t.train]
    if not tasks:
        raise BabiFormatError(f"{args.data}: no training files for tasks {args.tasks}")
    if args.init and not args.joint:
        raise ValueError("--init continues one checkpoint: it needs --joint")
    check_restarts(args.restarts, bool(args.init), "--restarts")
    check_average(args.average, "--average")
    config = _model_config(args)
    init = checkpoint.load(args.init) if args.init else None
    if init is not None:   # say which settings flags the checkpoint's own settings override
        default = _model_config(build_parser().parse_args(["train", "--data", str(args.data), "--out", str(args.out)]))
        ignored = [f"{name} {value}" for name, value in config.to_json().items()
                   if name not in CONTINUED and value != getattr(default, name) and value != getattr(init.config, name)]
        if ignored:
            print(f"note: {args.init} keeps its own settings; ignored: {', '.join(ignored)}", file=sys.stderr)
    input_map = make_input_map((init.config if init else config).input_map)   # a continued model reads as it was trained
    if args.joint:
        stories = [s for t in tasks for s in parse_stories(t.train, input_map, progress=True, desc=f"I {t.name}",
                                                            sets=t.answers_are_sets)]
        model, log = train(stories, config, init=init)
        checkpoint.save(model, args.out, {"tasks": [t.name for t in tasks], "train_seconds": log.seconds,
                                          **({"init": str(args.init)} if init else {}), **log.restarts()})
        print(f"trained a joint model on {len(tasks)} tasks, {log.examples} questions, in {log.seconds:.1f}s"
              f"{log.restarts_said()} -> {args.out}")
        return 0
    for task in tasks:
        model, log = train(parse_stories(task.train, input_map, sets=task.answers_are_sets), config)
        checkpoint.save(model, Path(args.out) / task.name,
                        {"tasks": [task.name], "train_seconds": log.seconds, **log.restarts()})
        print(f"{task.name}: {log.examples} questions in {log.seconds:.1f}s{log.restarts_said()} -> {Path(args.out) / task.name}")
    return 0


def _model_for(model_path: Path, task_name: str):
    """One checkpoint serves every task; a folder of per-task checkpoints serves the tasks it has."""
    if (model_path / "config.json").is_file():
        return checkpoint.load(model_path)
    per_task = model_path / task_name
    return checkpoint.load(per_task) if (per_task / "config.json").is_file() else None


def cmd_eval(args: argparse.Namespace) -> int:
    model_path = Path(args.model) if args.model else checkpoint.DEFAULT_MODEL
    if not model_path.is_dir():
        raise checkpoint.CheckpointError(f"{model_path}: no such checkpoint folder")
    tasks = [t for t in load_tasks(args.data, parse_task_range(args.tasks)) if t.test]
    if not tasks:  # e.g. only _train and _valid files: those are no test sets
        raise BabiFormatError(f"{args.data}: no test files for tasks {args.tasks} (*_test.txt, or any other .txt)")
    scores = {}
    for task in tasks:
        model = _model_for(model_path, task.name)
        if model is None:
            print(f"{task.name}: skipped, no checkpoint for it in {model_path}", file=sys.stderr)
            continue
        stories = parse_stories(task.test, make_input_map(model.config.input_map))
        scores[task.name] = evaluate(model, stories, progress=True, sets=task.answers_are_sets)
    if not scores:
        raise checkpoint.CheckpointError(f"{model_path}: no checkpoint for any of the tasks in {args.data}")
    print(format_table(scores))
    if args.json:
        Path(args.json).write_text(json.dumps(summarize(scores), indent=1))
    return 0


def cmd_configure(args: argparse.Namespace) -> int:
    settings = {name: value for name, value in (("word_hashing", args.word_hashing), ("beam", args.beam)) if value is not None}
    saved = checkpoint.set_search(args.model, **settings)
    print(f"{args.model}: " + ", ".join(f"{name} {value}" for name, value in saved.items()))
    return 0


_BABI_LINE = re.compile(r"^\s*\d+\s+")


def cmd_ask(args: argparse.Namespace) -> int:
    from memnet.network import MemoryNetwork

    net = MemoryNetwork.load(args.model)
    if args.file:
        with open(args.file, encoding="utf-8") as source:
            return _answer_lines(net, source, args.file, args.hops)
    return _answer_lines(net, sys.stdin, "<stdin>", args.hops)


def _answer_lines(net, source, name, hops: int | None) -> int:
    from memnet.network import Answered, Skipped

    for number, raw in enumerate(source):
        raw = raw.removeprefix("\ufeff") if number == 0 else raw  # a byte-order mark is no part of line 1
        line = _BABI_LINE.sub("", raw.rstrip("\n"))
        if _BABI_LINE.match(raw) and "\t" in line and is_dialog_turn(line.split("\t")):
            raise BabiFormatError(f"{name}:{number + 1}: this looks like dialog bAbI (a user turn, a tab, the bot's "
                                  "reply), not a bAbI question line; memnet reads the question-answering tasks")
        if _BABI_LINE.match(raw) and _BABI_LINE.sub("", raw).strip() and re.match(r"^\s*1\s", raw):
            net.clear()  # a bAbI line numbered 1 starts a new story
        text, _, expected = line.partition("\t")
        if not text.strip():
            continue
        for event in net.respond(text, hops=hops):
            if isinstance(event, Skipped):
                print(f"not stored: {event.text!r} ({event.reason})")
            if not isinstance(event, Answered):
                continue
            reply = event.answer
            if not reply.answer:
                print(f"{reply.question} -> {reply.message}")
                continue
            because = "; ".join(f"[{h.slot}] {h.text}" for h in reply.hops if h.slot is not None)
            truth = expected.split("\t")[0].strip()
            check = "" if not truth else ("  (right)" if same_answer(reply.answer, truth) else f"  (expected {truth})")
            print(f"{reply.question} -> {reply.answer}{check}\n    because: {because}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m memnet", description="Memory Networks (Weston et al. 2015).")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("train", help="train on bAbI-format data", description="Train per task, or jointly on all tasks.")
    p.add_argument("--data", required=True, help="folder (or file) of bAbI-format *_train.txt files")
    p.add_argument("--tasks", default="all", help="task numbers, e.g. 1-20 or 1,2,5 (default: every task found)")
    p.add_argument("--joint", action="store_true", help="one model for all tasks (default: one per task)")
    p.add_argument("--out", required=True, help="checkpoint folder (per task: one subfolder per task)")
    p.add_argument("--input", default="simple", choices=["simple", "spacy"], help="the input map I (default simple)")
    defaults = ModelConfig()
    p.add_argument("--hops", type=int, default=defaults.hops, help="k, supporting memories per question")
    p.add_argument("--dim", type=int, default=defaults.dim, help="embedding size n")
    p.add_argument("--epochs", type=int, default=defaults.epochs, help=f"passes over the data (default {defaults.epochs})")
    p.add_argument("--lr", type=float, default=defaults.lr, help=f"learning rate (default {defaults.lr})")
    p.add_argument("--optimizer", default=defaults.optimizer, choices=["adam", "adagrad", "sgd"], help=f"(default {defaults.optimizer})")
    p.add_argument("--ngram-buckets", type=int, default=defaults.ngram_buckets,
                   help="hashed bigram rows of question and candidate (default 0: the paper's bag of words)")
    p.add_argument("--word-dropout", type=float, default=defaults.word_dropout, help="d, share of words treated as unseen")
    p.add_argument("--memory-size", type=int, default=None, help="newest memories a question sees (default all)")
    p.add_argument("--seed", type=int, default=defaults.seed, help=f"(default {defaults.seed})")
    p.add_argument("--no-time", action="store_true", help="without the write-time features (§3.4)")
    p.add_argument("--no-unseen", action="store_true", help="without the unseen-word context features (§3.5)")
    p.add_argument("--no-match", action="store_true", help="without the exact-match features (§3.6)")
    p.add_argument("--hop-maps", action="store_true", help="a learned map per hop, so the input keeps the supports' order")
    p.add_argument("--support-bigrams", action="store_true", help="bigrams of the supports on R's input (with --ngram-buckets)")
    p.add_argument("--match-source", action="store_true", help="O's match features tell question matches from support matches")
    p.add_argument("--align-maps", action="store_true",
                   help="R maps each support by where the question's word stands in it (A north of B, asked from A or B)")
    p.add_argument("--skip-found-negatives", action="store_true",
                   help="hop h's negatives leave out the facts found at earlier hops")
    p.add_argument("--scan-hinges", action="store_true",
                   help="train appendix C's time hinges only in the order Algorithm 1 compares (older challenges newer)")
    p.add_argument("--nonlinear", action="store_true", help="NL: input embedding tanh(W tanh(UΦx))")
    p.add_argument("--answer-match", action="store_true",
                   help="R's match rows: question words no support holds, answer words after/before a question word")
    p.add_argument("--unlabelled-picks", action="store_true",
                   help="R learns questions without labelled supports (answer 'unknown') from O's own picks")
    p.add_argument("--beam", type=int, default=defaults.beam,
                   help="O's first hop looks ahead over its this many best picks and keeps the best pair of facts (1: greedy)")
    p.add_argument("--pair-margin", type=float, default=defaults.pair_margin,
                   help="train the beam's pair score: the labelled pair beats the pairs it weighs by this margin (0: off)")
    p.add_argument("--word-hashing", type=int, default=defaults.word_hashing,
                   help="§3.3: from this hop on (1-based), O picks only memories sharing a word with the question "
                        "or the supports so far, and so do the beam's other first facts (0: off)")
    p.add_argument("--compose", type=int, default=defaults.compose,
                   help="R: hidden units of an MLP over [question; support 1; support 2] (0: off)")
    p.add_argument("--entity-roles", action="store_true",
                   help="R reads its first two supports in the question's order (the one about the question's first "
                        "entity first); compose finds the entity linking them among the words both hold. "
                        "Needs --hop-maps, --align-maps or --compose (R otherwise sums its supports)")
    p.add_argument("--set-answers", action="store_true",
                   help="R answers every candidate above a learned END row: a list answer of a task whose lists "
                        "are sets (bAbI 8) is its items, not a phrase seen in training")
    p.add_argument("--dropout-o-only", action="store_true", help="word dropout in O's loss only (R trains on the words as written)")
    p.add_argument("--min-count", type=int, default=defaults.min_count,
                   help="words seen fewer times in training stay unseen (default 1: every word)")
    p.add_argument("--average", type=int, default=defaults.average,
                   help="keep the mean of up to this many snapshots of the weights, evenly spaced over the last "
                        "epoch (stochastic weight averaging; default 0: the last weights)")
    p.add_argument("--fit-check", type=int, default=defaults.fit_check,
                   help="every this many epochs, stop once every training answer and support is right (0: never)")
    p.add_argument("--restarts", type=int, default=defaults.restarts,
                   help="train this many models from other seeds and keep the one with the lowest training error "
                        "(MemN2N §4.2; stops at the first that answers every sampled training question; "
                        f"not with --init; default {defaults.restarts})")
    p.add_argument("--init", help="continue training this checkpoint folder (with --joint): its vocabulary, "
                                  "input map, optimizer and other settings stay, only --lr, --epochs, --seed and "
                                  "--fit-check apply (the optimizer starts afresh)")
    p.set_defaults(run=cmd_train)

    p = commands.add_parser("eval", help="per-task accuracy table", description="Evaluate on bAbI-format test files.")
    p.add_argument("--model", help="checkpoint folder, or a folder of per-task checkpoints (default: bundled model)")
    p.add_argument("--data", required=True, help="folder (or file) of bAbI-format test files")
    p.add_argument("--tasks", default="all", help="task numbers to keep, e.g. 1-20 (default: every task found)")
    p.add_argument("--json", help="also write the results as JSON to this file")
    p.set_defaults(run=cmd_eval)

    p = commands.add_parser("configure", help="change how a trained model searches its memory (weights untouched)",
                            description="Set a checkpoint's search settings, which no weight depends on; prints them.")
    p.add_argument("--model", required=True, help="checkpoint folder")
    p.add_argument("--word-hashing", type=int, help="§3.3 word hashing inside O from this hop on (1-based; 0: off)")
    p.add_argument("--beam", type=int, help="the first hop's look-ahead width (1: greedy)")
    p.set_defaults(run=cmd_configure)

    p = commands.add_parser("ask", help="answer the questions of a story read from stdin",
                            description="Statements are stored, questions answered. bAbI-numbered lines work too.")
    p.add_argument("--model", help="checkpoint folder (default: bundled model)")
    p.add_argument("--hops", type=int, help="k at inference (default: the model's)")
    p.add_argument("file", nargs="?", help="a story file to read instead of stdin")
    p.set_defaults(run=cmd_ask)

    p = commands.add_parser("simulate", help="generate the paper's simulated world as bAbI files")
    add_simulate_arguments(p)
    p.set_defaults(run=run_simulate)

    p = commands.add_parser("conversations", help="generate bAbI and simulated stories interleaved, in everyday phrasing",
                            description="Training data the way people talk (see memnet/data/conversations.py).")
    conversations.add_arguments(p)
    p.set_defaults(run=conversations.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    configure()
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (BabiFormatError, checkpoint.CheckpointError, ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
