"""Stories through I into training examples: the hop order of the support labels after coreference (`hop_order`)."""
import pytest

from memnet.data.babi import Question, Story, load_tasks
from memnet.dataset import parse_stories
from memnet.input.sentence import SimpleInput
from tests.helpers import BABI_EN


def story(lines: list[str], question: str, answer: str, supports: tuple[int, ...]) -> Story:
    return Story(statements=lines, questions=[Question(question, answer, supports, len(lines))])


@pytest.mark.parametrize("lines,question,answer,labelled,ordered", [
    # the first line only named whom "he" / "they" meant: once resolved, the second line comes first
    (["Daniel moved to the office.", "Afterwards he moved to the hallway."], "Where is Daniel?", "hallway", (0, 1), (1, 0)),
    (["Daniel and Sandra went to the kitchen.", "Then they went to the garden."], "Where is Sandra?", "garden", (0, 1), (1, 0)),
    # the referent's line holds the answer: as labelled
    (["John and Mary went to the kitchen.", "They picked up the milk."], "Where is the milk?", "kitchen", (1, 0), (1, 0)),
    # the referent's line alone holds a word of the question ("milk"): as labelled
    (["John picked up the milk.", "Then he went to the kitchen."], "Where is the milk?", "kitchen", (0, 1), (0, 1)),
    # "there" resolved in both lines: the pick-up line is not where "there" was named
    (["John went to the office.", "John got the apple there.", "John put down the apple there."],
     "What is John carrying?", "nothing", (1, 2), (1, 2)),
])
def test_a_support_that_only_named_a_referent_follows_the_resolved_one(spacy_input, lines, question, answer,
                                                                      labelled, ordered):
    (parsed,) = parse_stories([story(lines, question, answer, labelled)], spacy_input)
    assert parsed.questions[0][2] == ordered, [m.resolved for m in parsed.memory]


def test_task_11_keeps_both_supports_newest_first_with_coreference_and_as_labelled_without(spacy_input):
    """The simple I resolves nothing, so bAbI's labels stay as written; with the spaCy I each of task
    11's questions keeps both supports, the resolved line (which holds the answer) first."""
    (task,) = load_tasks(BABI_EN, {11})
    stories = task.test[:10]
    labelled = [q.supports for s in stories for q in s.questions]
    assert [q[2] for p in parse_stories(stories, SimpleInput()) for q in p.questions] == labelled
    ordered = [(p, q) for p in parse_stories(stories, spacy_input) for q in p.questions]
    assert [sorted(q[2]) for _, q in ordered] == [sorted(s) for s in labelled] and all(len(s) == 2 for s in labelled)
    for parsed, (_, _, supports, answer) in ordered:
        assert answer in parsed.memory[supports[0]].tokens and supports[0] > supports[1]
