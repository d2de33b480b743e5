"""The cases of tests/test_conversation_model.py (issue 12's inputs and our own) on any checkpoint:
one line per case (OK or MISS, "(xfail)" for the strict xfails), then how many were right.

    python bench/cases.py [MODEL]     # default: the bundled model

The candidates' outputs are kept in bench/results/candidates/*-cases.txt."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from memnet.network import MemoryNetwork  # noqa: E402
from tests.test_conversation_model import CASES, OWN, same_answer  # noqa: E402


def main() -> None:
    net = MemoryNetwork.load(*sys.argv[1:2])
    right = 0
    for case in CASES + OWN:
        strict_xfail = hasattr(case, "values")
        story, question, expected = case.values if strict_xfail else case
        conversation = net.conversation()
        conversation.tell(story)
        answer = conversation.ask(question).answer
        ok = same_answer(answer, expected)
        right += ok
        print(("OK  " if ok else "MISS") + (" (xfail)" if strict_xfail else "        "), question, expected, "->", answer)
    print(right, "of", len(CASES + OWN))


if __name__ == "__main__":
    main()
