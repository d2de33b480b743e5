"""A large simulated world for the memory benchmarks: a town of many small houses.

Each house is a world of the paper's simulator (`memnet.data.world`) with its own actors,
rooms and objects; the town's narration interleaves the houses' events, so one memory holds
millions of statements about a thousand actors. Distractor statements ("X looked around",
"X examined the apple", "X checked what he was carrying") are the simulator's own: they
never support an answer. Questions come from each house's `Reader`, with the supporting
facts as positions in the town's memory.
"""
from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

from memnet.data.babi import Question, Story
from memnet.data.world import Narrator, Reader, World, WorldConfig, generate
from memnet.data.world import Question as WorldQuestion

SYLLABLES = "ka ro mi ta lu ne so vi da pe zo ri ba fe go hu ja le mo ni pa se to wa ce di".split()
ROOMS = ("kitchen", "office", "bathroom", "garden", "hallway")
OBJECTS = ("milk", "football", "apple")
ACTIONS = ("go", "get", "drop", "look", "examine", "inventory")


def houses(count: int, actors: int = 10) -> list[WorldConfig]:
    """`count` houses with `actors` actors each; every name is unique in the town."""
    names = ["".join(p).capitalize() for p in itertools.product(SYLLABLES, repeat=3)]
    random.Random(0).shuffle(names)
    configs = []
    for h in range(count):
        tag = names[-1 - h].lower()
        configs.append(WorldConfig(actors=tuple(names[h * actors : (h + 1) * actors]), she=(),
                                   rooms=tuple(f"{tag}-{r}" for r in ROOMS),
                                   objects=tuple(f"{tag}-{o}" for o in OBJECTS), containers=(),
                                   actions=ACTIONS, question_kinds=("where", "before", "object")))
    return configs


def training_stories(configs: list[WorldConfig], stories: int, length: int, houses_per_story: int,
                     questions: int, seed: int = 0) -> list[Story]:
    """Stories of a few houses' interleaved events, as bAbI stories (questions spread over each
    story), to train a model that tells the town's actors apart in a mixed memory."""
    rng = random.Random(seed)
    result = []
    for _ in range(stories):
        town = Town(rng.sample(configs, houses_per_story), seed=rng.randrange(2**31))
        story, every = Story(), max(1, length // questions)
        while len(story.statements) < length:
            story.statements += town.narrate(every)
            for q in town.questions(1):
                story.questions.append(Question(q.text, q.answer, q.supports, len(story.statements)))
        result.append(story)
    return result


def world_stories(config: WorldConfig, statements: int, questions: int, seed: int = 0) -> list[Story]:
    """Stories of one simulated world (`memnet.data.world.generate`) as bAbI stories."""
    stories = []
    for lines in generate(config, statements, questions, random.Random(seed)):
        story, statement_of_line = Story(), {}
        for number, line in enumerate(lines, 1):
            if isinstance(line, WorldQuestion):
                supports = tuple(statement_of_line[s] for s in line.support)
                story.questions.append(Question(line.text, line.answer, supports, len(story.statements)))
            else:
                statement_of_line[number] = len(story.statements)
                story.statements.append(line.text)
        stories.append(story)
    return stories


@dataclass
class TownQuestion:
    text: str
    answer: str
    supports: tuple[int, ...]   # memory positions (0-based statement numbers), hop order
    kind: str


class Town:
    """The interleaved narration; `questions()` asks about the state after everything said so far."""

    def __init__(self, configs: list[WorldConfig], seed: int = 0):
        self.rng = random.Random(seed)
        self.configs = configs
        self.worlds = [World(c, self.rng) for c in configs]
        self.readers = [Reader() for _ in configs]
        self.narrators = [Narrator(c, self.rng) for c in configs]
        self.lines = 0

    def narrate(self, count: int) -> list[str]:
        texts = []
        for _ in range(count):
            h = self.rng.randrange(len(self.worlds))
            world = self.worlds[h]
            event = world.random_event(self.rng)
            been_before = event.verb == "go" and event.target in world.rooms[event.actor]
            world.apply(event)
            texts.append(self.narrators[h].statement(event, been_before) + ".")
            self.readers[h].read(event, self.lines)
            self.lines += 1
        return texts

    def questions(self, count: int) -> list[TownQuestion]:
        asked = []
        while len(asked) < count:
            h = self.rng.randrange(len(self.worlds))
            config, reader = self.configs[h], self.readers[h]
            kind = self.rng.choice(config.question_kinds)
            entity = self.rng.choice(config.objects if kind == "object" else config.actors)
            answer, supports = reader.answer(kind, entity)
            if answer is None:
                continue
            before = reader.visits[entity][-1][0] if kind == "before" else None
            asked.append(TownQuestion(self.narrators[h].question(kind, entity, before), answer, supports, kind))
        return asked
