"""A person's place asked past a newer line that names them without placing them, for bAbI's names
and for names no training file holds (issue 12; bench/notes/conversations.md, 2026-12-01).

Four stories ("A and B went to the kitchen. They picked up the milk." -> "Where is B?"; "A went to
the kitchen. A did not go to the garden."; "A went to the office. A picked up the apple."; "A went to
the office. A never went to the garden." -> "Where is A?"), each told with three pairs of names: John
and Mary (bAbI's), Zorba and Quillon (never seen), Anika and Yusuf (in no training file). A retrain
that answers them for the unseen names only has learned the kind for the `<unk>` name's rows.

    .venv/bin/python bench/name_probes.py [MODEL ...]      # default: the bundled model; prints, writes nothing
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from memnet.network import MemoryNetwork  # noqa: E402

NAMES = {"bAbI's": ("John", "Mary"), "never seen": ("Zorba", "Quillon"), "in no training file": ("Anika", "Yusuf")}
STORIES = (("{a} and {b} went to the kitchen. They picked up the milk.", "Where is {b}?", "kitchen"),
           ("{a} went to the kitchen. {a} did not go to the garden.", "Where is {a}?", "kitchen"),
           ("{a} went to the office. {a} picked up the apple.", "Where is {a}?", "office"),
           ("{a} went to the office. {a} never went to the garden.", "Where is {a}?", "office"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", default=[None], help="checkpoint folders (default: the bundled model)")
    args = parser.parse_args()
    for path in args.models:
        try:
            net = MemoryNetwork.load(path) if path else MemoryNetwork.load()
        except (FileNotFoundError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(f"model {path or 'assets/model'}")
        for kind, (a, b) in NAMES.items():
            right = 0
            for story, question, expected in STORIES:
                told, asked = story.format(a=a, b=b), question.format(a=a, b=b)
                conversation = net.conversation()
                conversation.tell(told)
                got = conversation.ask(asked).answer
                right += got == expected
                if got != expected:
                    print(f"  wrong: {told} {asked} -> {got} (expected {expected})")
            print(f"  {a}, {b} ({kind}): {right} of {len(STORIES)} right")
    return 0


if __name__ == "__main__":
    sys.exit(main())
