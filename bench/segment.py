"""Segmentation of joined statements: the parse-based splitter of the spaCy I against the
learned segmenter of appendix B (memnet/input/segmenter.py).

Data: the simulated world (memnet/data/world.py, "actor+object", word-sequence setting: the
statements between two questions joined with the paper's connectives), trained on one split
and scored on another; and bAbI 1k statements joined the same way. A predicted segment is
right when its words, without punctuation and leading connectives, equal a true statement's.

    python bench/segment.py          # writes bench/results/segment.json and segment.md
"""
from __future__ import annotations

import json
import os
import platform
import random
import sys
import time
from collections import Counter
from pathlib import Path

import spacy
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from memnet.data.babi import load_tasks  # noqa: E402
from memnet.data.world import JOINERS, Statement, generate, setting_config  # noqa: E402
from memnet.input.segmenter import SegmenterConfig, known_statements, stream_words, train_segmenter  # noqa: E402
from memnet.input.spacy_input import SpacyInput, load_nlp  # noqa: E402

BABI = REPO.parent / "shared" / "babi" / "en"
CONNECTIVE_WORDS = {"and", "then", "later", "after", "that", "next", ".", ",", ";", "!", "?"}
BABI_TASKS = {1, 2, 3, 5, 6, 7, 8, 9, 10, 12, 14}  # not 11/13: their statements open with connectives


def core(words: list[str]) -> tuple[str, ...]:
    """A segment's words without punctuation and leading connectives, for comparison."""
    start = 0
    while start < len(words) and words[start] in CONNECTIVE_WORDS:
        start += 1
    return tuple(w for w in words[start:] if w not in ".,;!?")


def simulation(seed: int, statements: int = 7000, questions: int = 3000) -> list[tuple[str, list[str]]]:
    config = setting_config("actor+object", word_sequence=True)
    stories = generate(config, statements, questions, random.Random(seed))
    return [(line.text, list(line.clauses)) for story in stories for line in story if isinstance(line, Statement)]


def babi_joined(split: str, seed: int) -> list[tuple[str, list[str]]]:
    """Runs of 1-4 consecutive bAbI statements joined with the paper's connectives."""
    rng, texts = random.Random(seed), []
    for task in load_tasks(BABI, BABI_TASKS):
        for story in getattr(task, split):
            lines = [s.rstrip(".") for s in story.statements]
            i = 0
            while i < len(lines):
                run = lines[i:i + rng.randint(1, 4)]
                i += len(run)
                text = run[0]
                for clause in run[1:]:
                    joiner = rng.choice(JOINERS)
                    text += (f"{joiner} " if joiner[0] in ".,;" else f" {joiner} ") + clause
                texts.append((text + ".", run))
    return texts


def written(words: list[str]) -> tuple[str, ...]:
    """A segment as it would be written to memory: its words without punctuation, connectives kept."""
    return tuple(w for w in words if w not in ".,;!?")


def exactly(predicted: list[list[tuple[str, ...]]], gold: list[list[tuple[str, ...]]]) -> float:
    """Share of texts whose segments, as written, are exactly their statements."""
    return round(sum(p == g for p, g in zip(predicted, gold)) / max(len(gold), 1), 4)


def score(predicted: list[list[tuple[str, ...]]], gold: list[list[tuple[str, ...]]]) -> dict:
    right = n_pred = n_gold = exact = 0
    for p, g in zip(predicted, gold):
        overlap = sum((Counter(p) & Counter(g)).values())
        right, n_pred, n_gold = right + overlap, n_pred + len(p), n_gold + len(g)
        exact += Counter(p) == Counter(g)
    precision, recall = right / max(n_pred, 1), right / max(n_gold, 1)
    return {"precision": round(precision, 4), "recall": round(recall, 4),
            "f1": round(2 * precision * recall / max(precision + recall, 1e-9), 4),
            "texts_all_right": round(exact / max(len(gold), 1), 4), "texts": len(gold),
            "joined_texts": sum(len(g) > 1 for g in gold)}


def compare(train: list[tuple[str, list[str]]], test: list[tuple[str, list[str]]], spacy_input: SpacyInput) -> dict:
    gold = [[core(stream_words(c)) for c in clauses] for _, clauses in test]
    gold_written = [[written(stream_words(c)) for c in clauses] for _, clauses in test]
    streams = [known_statements(text, clauses) for text, clauses in train]
    start = time.perf_counter()
    model = train_segmenter(streams, SegmenterConfig())
    train_s = time.perf_counter() - start
    learned_raw = [model.split(stream_words(text)) for text, _ in test]
    learned = [[core(s) for s in segments] for segments in learned_raw]
    spill = train_segmenter(streams, SegmenterConfig(overrun=3))
    spill_raw = [spill.split(stream_words(text)) for text, _ in test]
    learned_spill = [[core(s) for s in segments] for segments in spill_raw]
    start = time.perf_counter()
    parsed_raw = [[stream_words(s.text) for s in sentences] for sentences in spacy_input.pipe([t for t, _ in test])]
    parse_s = time.perf_counter() - start
    parsed = [[core(s) for s in segments] for segments in parsed_raw]

    def as_written(raw):
        return {"texts_written_exactly": exactly([[written(s) for s in segments] for segments in raw], gold_written)}

    return {"learned": {**score(learned, gold), **as_written(learned_raw), "train_seconds": round(train_s, 1)},
            "learned_overrun3": {**score(learned_spill, gold), **as_written(spill_raw)},
            "parse": {**score(parsed, gold), **as_written(parsed_raw), "seconds": round(parse_s, 1)},
            "learned_errors": _errors(test, learned, gold), "parse_errors": _errors(test, parsed, gold)}


def _errors(test, predicted, gold, n: int = 5) -> list[dict]:
    wrong = [(t, p) for (t, _), p, g in zip(test, predicted, gold) if Counter(p) != Counter(g)]
    return [{"text": t, "got": [" ".join(s) for s in p]} for t, p in wrong[:n]]


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"cores": len(os.sched_getaffinity(0)), "cpu": cpu, "python": platform.python_version(),
            "spacy": spacy.__version__, "torch": torch.__version__, "load_average_1min": os.getloadavg()[0]}


def main() -> None:
    torch.set_num_threads(1)
    spacy_input = SpacyInput(load_nlp())
    result = {"command": "python bench/segment.py", "machine": machine(), "segmenter": SegmenterConfig().__dict__,
              "simulation": compare(simulation(seed=1), simulation(seed=2), spacy_input),
              "babi_joined": compare(babi_joined("train", seed=1), babi_joined("test", seed=2), spacy_input)}
    out = REPO / "bench" / "results"
    (out / "segment.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "segment.md").write_text(report(result))
    print(report(result))


def report(r: dict) -> str:
    lines = ["# Segmentation: parse-based (spaCy I) vs learned (appendix B)", "",
             f"Command: `{r['command']}`  ", f"Machine: {r['machine']}  ", f"Learned segmenter: {r['segmenter']}", "",
             "learned_overrun3: the same, with F̄ also holding runs that spill up to 3 words into the next statement.",
             "Precision, recall, F1 and \"texts all right\" compare segments without punctuation and leading",
             "connectives; \"texts written exactly\" compares them as they would be stored (connectives kept).",
             "The learned segmenter passes over the words it learned lie between statements; the parse-based",
             "I leaves a clause's leading connective out of its text too.", "",
             "| data | segmenter | precision | recall | F1 | texts all right | texts written exactly | texts (joined) |",
             "|---|---|---|---|---|---|---|---|"]
    for data in ("simulation", "babi_joined"):
        for kind in ("parse", "learned", "learned_overrun3"):
            s = r[data][kind]
            lines.append(f"| {data} | {kind} | {s['precision']:.1%} | {s['recall']:.1%} | {s['f1']:.1%} | "
                         f"{s['texts_all_right']:.1%} | {s['texts_written_exactly']:.1%} | {s['texts']} ({s['joined_texts']}) |")
    for data in ("simulation", "babi_joined"):
        for kind in ("parse", "learned"):
            errors = r[data][f"{kind}_errors"]
            if errors:
                lines += ["", f"First {kind} errors on {data}:", ""]
                lines += [f"- \"{e['text']}\" → {' | '.join(e['got'])}" for e in errors]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
