"""`set_answers`: R answers every candidate above its learned END row, so a list is a set of item
words (objects never seen in training included), not a phrase seen in training."""
import random

import pytest
import torch

from memnet.dataset import ParsedStory, build_vocabulary
from memnet.evaluate import same_answer
from memnet.input.sentence import SimpleInput
from memnet.model import ModelConfig
from memnet.network import MemoryNetwork
from memnet.response import set_answer
from memnet.train import train

PEOPLE = ("john", "mary", "sandra", "daniel")
OBJECTS = ("apple", "milk", "football", "book", "pen", "cup", "hat", "ball", "key", "box")


def story(rng: random.Random) -> tuple[list[str], str, str]:
    """Statements of people taking and dropping objects, a "what is X carrying?" question and the set
    X holds at the end ("nothing" when empty), in the order X took them."""
    lines, held = [], {p: [] for p in PEOPLE}
    for _ in range(rng.randint(3, 6)):
        person = rng.choice(PEOPLE)
        if held[person] and rng.random() < 0.3:
            thing = rng.choice(held[person])
            held[person].remove(thing)
            lines.append(f"{person} dropped the {thing}")
        else:
            thing = rng.choice([o for o in OBJECTS if all(o not in h for h in held.values())])
            held[person].append(thing)
            lines.append(f"{person} took the {thing}")
    person = rng.choice([p for p in PEOPLE if any(p in line for line in lines)])
    return lines, person, ",".join(held[person]) or "nothing"


def parsed(count: int, seed: int) -> list[ParsedStory]:
    I, rng, out = SimpleInput(), random.Random(seed), []
    for _ in range(count):
        lines, person, answer = story(rng)
        memory = [I(line)[0] for line in lines]
        supports = tuple(i for i, line in enumerate(lines) if line.startswith(person))
        out.append(ParsedStory(memory, [(I(f"what is {person} carrying")[0], len(memory), supports, answer)], sets=True))
    return out


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    config = ModelConfig(hops=5, set_answers=True, epochs=25, seed=0, skip_found_negatives=True, hop_maps=True)
    return train(parsed(600, 0), config, progress=False)[0]


def test_a_set_answer_adds_its_items_to_the_dictionary_not_a_phrase():
    stories = parsed(50, 1)
    assert not build_vocabulary(stories, set_answers=True).phrases
    assert build_vocabulary(stories).phrases   # as before: each list seen is a phrase


def test_lists_are_answered_as_sets(model):
    """Held-out stories of the same kind: most lists (and "nothing") are answered right as sets."""
    net = MemoryNetwork(model, input_map=SimpleInput())
    rng, right, total = random.Random(7), 0, 0
    for _ in range(60):
        lines, person, answer = story(rng)
        conversation = net.conversation()
        conversation.tell(". ".join(lines) + ".")
        right += same_answer(conversation.ask(f"What is {person} carrying?").answer, answer, sets=True)
        total += 1
    assert right / total >= 0.8


def test_a_list_of_objects_never_seen_in_training(model):
    net = MemoryNetwork(model, input_map=SimpleInput())
    net.tell("Mary took the kettle. John took the pen. Mary took the stapler.")
    assert same_answer(net.ask("What is Mary carrying?").answer, "kettle,stapler", sets=True)
    net.tell("Mary dropped the kettle.")
    assert net.ask("What is Mary carrying?").answer == "stapler"


def test_unlabelled_set_questions_train_on_o_picks():
    """With `unlabelled_picks`, R trains a set question without labelled supports on O's picks."""
    stories = parsed(40, 2)
    for story in stories[::2]:
        story.questions = [(q, n, (), answer) for q, n, _, answer in story.questions]
    config = ModelConfig(hops=3, set_answers=True, unlabelled_picks=True, epochs=1, seed=0)
    _, log = train(stories, config, progress=False)
    assert log.epoch_losses[0] > 0


def test_a_ranking_names_each_answer_once(model):
    """SET with one item is named like that item's own candidate: the ranking shows the name once."""
    net = MemoryNetwork(model, input_map=SimpleInput())
    net.tell("Mary took the apple. John took the pen.")
    names = [name for name, _ in net.ask("What is Mary carrying?").ranking]
    assert names[0] == "apple" and len(names) == len(set(names)) == 5


def test_unknown_or_nothing_among_a_sets_items_is_the_answer_or_ends_the_list():
    """R's abstention word and the empty set are not things held: a set whose best item is `unknown`
    abstains, one led by `nothing` is "nothing", and the items below either are not part of the answer."""
    assert set_answer(["unknown", "garden"]) == "unknown"
    assert set_answer(["apple", "milk", "unknown", "garden"]) == "apple,milk"
    assert set_answer(["nothing", "apple"]) == "nothing"
    assert set_answer(["football", "apple", "nothing", "unknown"]) == "football,apple"
    assert set_answer(["unknown", "nothing", "apple"]) == "unknown"
    assert set_answer(["apple", "milk"]) == "apple,milk"
