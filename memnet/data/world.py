"""The paper's simulated world (section 5.2, appendix A), as data the project owns.

Actors walk between rooms and move objects around; a small grammar narrates each action
and questions are asked about the world. Two things are kept apart on purpose:

- `World` is the truth: the actual state, which the answers come from.
- `Reader` is what the narration so far tells someone who reads it. It answers from the
  text alone and records which lines it needed: those lines are the supporting facts.

Tests check that both agree, and that replaying only the supporting facts through a fresh
`Reader` gives the same answer, so the labels really are the facts that decide the answer.

Output is bAbI format (ids restart at 1 per story; questions are
`<id> <question>\\t<answer>\\t<support ids>`), so the core's `train`/`eval` read it.
Files are named like bAbI's (`qa0_simworld-<setting>-d<difficulty>_train.txt`) so the reader
pairs train and test. Side files (JSON lines, one record per question or statement line, in
file order) carry what bAbI cannot: `<stem>.answers.jsonl` the sentence-form answers
(appendix F) and `<stem>.segments.jsonl` the statements inside each word-sequence line.
"""
from __future__ import annotations

import argparse
import json
import random
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Iterable, Sequence

ALL_ACTIONS = ("go", "get", "drop", "get_from", "put", "give", "look", "inventory", "examine")
QUESTION_KINDS = ("where", "before", "object")

# The paper's settings: which actions actors may take, and which questions are asked.
SETTINGS = {
    "actor w/o before": (("go",), ("where",)),
    "actor": (("go",), ("where", "before")),
    "actor+object": (("go", "get", "drop"), QUESTION_KINDS),
    "full": (ALL_ACTIONS, QUESTION_KINDS),
}

# The grammar: verb synonyms (appendix A) and the word-sequence joiners (section 5.2).
GO = ("went to", "travelled to", "journeyed to", "moved to")
GO_BACK = "went back to"  # only said of a room the actor has already been in
GET = ("picked up", "got", "grabbed", "took")
DROP = ("dropped", "left", "discarded", "put down")
GET_FROM = ("took {o} from {c}", "got {o} out of {c}")
PUT = ("put {o} {p} {c}", "placed {o} {p} {c}")
GIVE = ("gave {o} to {r}", "handed {o} to {r}", "passed {o} to {r}")
JOINERS = (".", "and", "then", ", then", ";", ", later", ", after that", ", and then", ", next")

# Sentence-form answers (appendix F). {s} is the subject (name or pronoun), {l} the room.
SENTENCES_NOW = ("{s} is in {l}", "{s} is in {l} I believe", "I think {s} is in {l}", "{s} is in {l} now")
SENTENCES_BEFORE = ("{s} was in {l}", "{s} was in {l} before that", "I believe {s} was in {l}")


@dataclass(frozen=True)
class WorldConfig:
    """World parameters: the name lists fix the counts (4 actors, 5 rooms, 3 objects by default)."""

    actors: tuple[str, ...] = ("Joe", "Fred", "Bill", "Mary")
    rooms: tuple[str, ...] = ("kitchen", "office", "bathroom", "garden", "hallway")
    objects: tuple[str, ...] = ("milk", "football", "apple")
    containers: tuple[tuple[str, str], ...] = (("box", "in"), ("table", "on"))  # (name, preposition)
    she: tuple[str, ...] = ("Mary",)  # actors referred to as "she"; the rest are "he"
    articles: tuple[str, ...] = ("the", "")  # article before a room or object, drawn per mention
    actions: tuple[str, ...] = SETTINGS["actor+object"][0]
    question_kinds: tuple[str, ...] = SETTINGS["actor+object"][1]
    difficulty: int = 5  # the asked-about entity was mentioned at most this many statements ago
    story_length: int = 20  # statements per story; the world restarts with each story
    word_sequence: bool = False  # join the statements between questions into one line

    def __post_init__(self):
        unknown = set(self.actions) - set(ALL_ACTIONS) | set(self.question_kinds) - set(QUESTION_KINDS)
        if unknown:
            raise ValueError(f"unknown actions or question kinds: {sorted(unknown)}")
        if len(self.rooms) < 2 or not self.actors or self.difficulty < 1 or self.story_length < 1:
            raise ValueError("a world needs 2+ rooms, 1+ actors, difficulty >= 1 and story_length >= 1")

    def pronoun(self, actor: str) -> str:
        return "she" if actor in self.she else "he"

    def preposition(self, container: str) -> str:
        return dict(self.containers)[container]


def setting_config(setting: str, **overrides) -> WorldConfig:
    """The config for one of the paper's settings ("actor w/o before", "actor", "actor+object")."""
    actions, kinds = SETTINGS[setting]
    return WorldConfig(actions=actions, question_kinds=kinds, **overrides)


@dataclass(frozen=True)
class Event:
    """One action. `target` is the room (go) or the object; `other` the container or recipient."""

    verb: str
    actor: str
    target: str | None = None
    other: str | None = None

    def mentions(self) -> set[str]:
        return {name for name in (self.actor, self.target, self.other) if name is not None}


class World:
    """The true state. Actors start nowhere (unnarrated) and must `go` before anything else."""

    def __init__(self, config: WorldConfig, rng: random.Random):
        self.config = config
        self.rooms: dict[str, list[str]] = {a: [] for a in config.actors}  # each actor's rooms, in order
        self.holder: dict[str, str | None] = {o: None for o in config.objects}
        self.place = {o: rng.choice(config.rooms) for o in config.objects}  # a room or a container
        self.container_room = {c: rng.choice(config.rooms) for c, _ in config.containers}

    def room(self, actor: str) -> str | None:
        return self.rooms[actor][-1] if self.rooms[actor] else None

    def object_room(self, obj: str) -> str:
        if self.holder[obj] is not None:
            return self.room(self.holder[obj])
        return self.container_room.get(self.place[obj], self.place[obj])

    def valid_events(self, actor: str, verb: str) -> list[Event]:
        """Every event the constraints allow for `actor` doing `verb` now."""
        here = self.room(actor)
        if verb == "go":
            return [Event("go", actor, r) for r in self.config.rooms if r != here]
        if here is None:
            return []
        held = [o for o in self.config.objects if self.holder[o] == actor]
        containers_here = [c for c, _ in self.config.containers if self.container_room[c] == here]
        if verb == "get":
            return [Event("get", actor, o) for o in self.config.objects if self.holder[o] is None and self.place[o] == here]
        if verb == "get_from":
            return [Event("get_from", actor, o, self.place[o]) for o in self.config.objects
                    if self.holder[o] is None and self.place[o] in containers_here]
        if verb == "drop":
            return [Event("drop", actor, o) for o in held]
        if verb == "put":
            return [Event("put", actor, o, c) for o in held for c in containers_here]
        if verb == "give":
            return [Event("give", actor, o, r) for o in held for r in self.config.actors
                    if r != actor and self.room(r) == here]
        if verb == "examine":
            visible = [o for o in self.config.objects if self.object_room(o) == here] + containers_here
            return [Event("examine", actor, thing) for thing in visible]
        return [Event(verb, actor)]  # look, inventory

    def random_event(self, rng: random.Random) -> Event:
        """An actor picks a random valid action type, then random valid arguments."""
        actor = rng.choice(self.config.actors)
        options = [events for verb in self.config.actions if (events := self.valid_events(actor, verb))]
        return rng.choice(rng.choice(options))

    def apply(self, event: Event) -> None:
        if event not in self.valid_events(event.actor, event.verb):
            raise ValueError(f"the constraints forbid {event}")
        if event.verb == "go":
            self.rooms[event.actor].append(event.target)
        elif event.verb in ("get", "get_from"):
            self.holder[event.target] = event.actor
        elif event.verb == "drop":
            self.holder[event.target], self.place[event.target] = None, self.room(event.actor)
        elif event.verb == "put":
            self.holder[event.target], self.place[event.target] = None, event.other
        elif event.verb == "give":
            self.holder[event.target] = event.other

    def answer(self, kind: str, entity: str) -> str:
        if kind == "where":
            return self.room(entity)
        if kind == "before":
            return self.rooms[entity][-2]
        return self.object_room(entity)


class Reader:
    """What the narration tells a reader, with the line ids each belief rests on.

    Reads events in order; knows only what was said. Each answer comes with the lines it
    used: those are the supporting facts written into the bAbI file.
    """

    def __init__(self):
        self.visits: dict[str, list[tuple[str, int]]] = {}  # actor -> [(room, line)]
        self.holder: dict[str, tuple[str, int]] = {}  # object -> (actor, line)
        self.placed: dict[str, tuple[str, tuple[int, ...]]] = {}  # object -> (room, lines)

    def _here(self, actor: str) -> tuple[str | None, tuple[int, ...]]:
        if not self.visits.get(actor):
            return None, ()
        room, line = self.visits[actor][-1]
        return room, (line,)

    def read(self, event: Event, line: int) -> None:
        if event.verb == "go":
            self.visits.setdefault(event.actor, []).append((event.target, line))
        elif event.verb in ("get", "get_from"):
            self.holder[event.target] = (event.actor, line)
            self.placed.pop(event.target, None)
        elif event.verb == "give":
            self.holder[event.target] = (event.other, line)
        elif event.verb in ("drop", "put"):
            # A container never moves, so the object is in the room the actor is in now.
            room, lines = self._here(event.actor)
            self.holder.pop(event.target, None)
            self.placed[event.target] = (room, (line,) + lines)

    def answer(self, kind: str, entity: str) -> tuple[str | None, tuple[int, ...]]:
        """(answer, supporting line ids in hop order); the answer is None when the text does not tell.

        Hop order is the order a reader chains them: first the fact that names the asked-about
        entity (its latest move), then the one it leads to (where its carrier is; where the
        actor was before).
        """
        if kind == "where":
            return self._here(entity)
        if kind == "before":
            visits = self.visits.get(entity, [])
            if len(visits) < 2:
                return None, ()
            (room, before), (_, last) = visits[-2], visits[-1]
            return room, (last, before)
        if entity in self.holder:
            actor, line = self.holder[entity]
            room, lines = self._here(actor)
            return room, (line,) + lines
        return self.placed.get(entity, (None, ()))


@dataclass(frozen=True)
class Statement:
    """A story line that states facts: one clause, or several in the word-sequence setting."""

    text: str
    events: tuple[Event, ...]
    clauses: tuple[str, ...]


@dataclass(frozen=True)
class Question:
    kind: str  # where, before, object
    entity: str
    text: str
    answer: str
    support: tuple[int, ...]  # 1-based line ids within the story, in hop order
    sentence: str  # the answer in sentence form (appendix F)


Story = list  # Statement | Question items in order; a line's id is its index + 1


class Narrator:
    """The grammar: events and questions as text, with synonyms and varying articles."""

    def __init__(self, config: WorldConfig, rng: random.Random):
        self.config, self.rng = config, rng

    def _the(self, noun: str) -> str:
        article = self.rng.choice(self.config.articles)
        return f"{article} {noun}" if article else noun

    def statement(self, event: Event, been_before: bool) -> str:
        a, pick, the = event.actor, self.rng.choice, self._the
        if event.verb == "go":
            verb = pick(GO + (GO_BACK,)) if been_before else pick(GO)
            return f"{a} {verb} {the(event.target)}"
        if event.verb == "get":
            return f"{a} {pick(GET)} {the(event.target)}"
        if event.verb == "drop":
            # Always "there", as in Figure 3: an optional one would leave "Joe dropped the milk"
            # a statement and a prefix of one, which no left-to-right segmenter can resolve.
            return f"{a} {pick(DROP)} {the(event.target)} there"
        if event.verb == "get_from":
            return f"{a} " + pick(GET_FROM).format(o=the(event.target), c=the(event.other))
        if event.verb == "put":
            p = self.config.preposition(event.other)
            return f"{a} " + pick(PUT).format(o=the(event.target), p=p, c=the(event.other))
        if event.verb == "give":
            return f"{a} " + pick(GIVE).format(o=the(event.target), r=event.other)
        if event.verb == "look":
            return f"{a} looked around"
        if event.verb == "inventory":
            return f"{a} checked what {self.config.pronoun(a)} was carrying"
        return f"{a} examined {the(event.target)}"

    def question(self, kind: str, entity: str, before: str | None) -> str:
        if kind == "before":
            return f"Where was {entity} before {self._the(before)}?"
        name = self._the(entity) if kind == "object" else entity
        return f"Where is {name}{self.rng.choice(('', ' now'))}?"

    def sentence(self, kind: str, entity: str, answer: str) -> str:
        if kind == "object":
            subject = self.rng.choice((f"the {entity}", "it"))
        else:
            subject = self.rng.choice((entity, self.config.pronoun(entity)))
        template = self.rng.choice(SENTENCES_BEFORE if kind == "before" else SENTENCES_NOW)
        text = template.format(s=subject, l=self._the(answer))
        return text[0].upper() + text[1:]


def _story(config: WorldConfig, n_statements: int, asks: Sequence[int], rng: random.Random) -> Story:
    """One story: `n_statements` statements, with asks[i] questions after the i-th."""
    world, reader, narrator = World(config, rng), Reader(), Narrator(config, rng)
    story: Story = []
    said: list[Event] = []
    for i in range(n_statements):
        event = world.random_event(rng)
        been_before = event.verb == "go" and event.target in world.rooms[event.actor]
        world.apply(event)
        clause = narrator.statement(event, been_before)
        story.append(Statement(clause + ".", (event,), (clause,)))
        reader.read(event, len(story))
        said.append(event)
        for _ in range(asks[i]):
            story.append(_ask(config, world, reader, narrator, said, rng))
    return story


def _ask(config, world: World, reader: Reader, narrator: Narrator, said: list[Event], rng) -> Question:
    """A question about an entity of a statement 1..difficulty steps back (appendix A)."""
    back = rng.randint(1, min(config.difficulty, len(said)))
    event = said[-back]
    if ("object" in config.question_kinds and event.target in config.objects
            and reader.answer("object", event.target)[0] is not None):  # not just examined where it began
        kind, entity = "object", event.target
    else:
        entity = event.actor
        kinds = [k for k in ("where", "before") if k in config.question_kinds
                 and (k == "where" or len(world.rooms[entity]) >= 2)]  # "before" needs two visits
        kind = rng.choice(kinds or ["where"])
    answer = world.answer(kind, entity)
    believed, support = reader.answer(kind, entity)
    assert believed == answer, (kind, entity, believed, answer)  # the narration must tell the truth
    before = world.room(entity) if kind == "before" else None
    return Question(kind, entity, narrator.question(kind, entity, before), answer, support,
                    narrator.sentence(kind, entity, answer) + ".")


def join_word_sequence(story: Story, rng: random.Random) -> Story:
    """Word-sequence setting: merge the statements between questions into one line."""
    joined: Story = []
    new_id: dict[int, int] = {}
    for i, line in enumerate(story, 1):
        if isinstance(line, Question):
            joined.append(replace(line, support=tuple(dict.fromkeys(new_id[s] for s in line.support))))
        else:
            if joined and isinstance(joined[-1], Statement):
                last, joiner = joined[-1], rng.choice(JOINERS)
                glue = f"{joiner} " if joiner[0] in ".,;" else f" {joiner} "
                joined[-1] = Statement(f"{last.text[:-1]}{glue}{line.text}", last.events + line.events,
                                       last.clauses + line.clauses)
            else:
                joined.append(line)
            new_id[i] = len(joined)
    return joined


def generate(config: WorldConfig, statements: int, questions: int, rng: random.Random) -> list[Story]:
    """Stories totalling `statements` statements and `questions` questions, at random positions."""
    asks = [0] * statements
    for position in rng.choices(range(statements), k=questions):
        asks[position] += 1
    stories = []
    for start in range(0, statements, config.story_length):
        n = min(config.story_length, statements - start)
        story = _story(config, n, asks[start:start + n], rng)
        stories.append(join_word_sequence(story, rng) if config.word_sequence else story)
    return stories


def babi_lines(story: Story) -> Iterable[str]:
    for i, line in enumerate(story, 1):
        if isinstance(line, Question):
            yield f"{i} {line.text}\t{line.answer}\t{' '.join(map(str, line.support))}"
        else:
            yield f"{i} {line.text}"


def task_name(setting: str, difficulty: int, word_sequence: bool) -> str:
    """A bAbI-style file stem, e.g. "qa0_simworld-actor-object-d5"; the reader pairs
    `<stem>_train.txt` with `<stem>_test.txt`. Task number 0: not one of bAbI's twenty."""
    slug = setting.replace(" w/o ", "-wo-").replace("+", "-").replace(" ", "-")
    return f"qa0_simworld-{slug}-d{difficulty}{'-words' if word_sequence else ''}"


def write_split(stories: Sequence[Story], out: Path, stem: str, sentence_answers: bool, word_sequence: bool) -> None:
    """`<stem>.txt` in bAbI format, plus the side files the setting calls for."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.txt").write_text("".join(f"{l}\n" for s in stories for l in babi_lines(s)))
    if sentence_answers:
        records = [{"story": n, "id": i, "question": l.text, "answer": l.answer, "sentence": l.sentence}
                   for n, s in enumerate(stories) for i, l in enumerate(s, 1) if isinstance(l, Question)]
        (out / f"{stem}.answers.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    if word_sequence:
        records = [{"story": n, "id": i, "segments": list(l.clauses)}
                   for n, s in enumerate(stories) for i, l in enumerate(s, 1) if isinstance(l, Statement)]
        (out / f"{stem}.segments.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))


# ---- CLI hook: the lead's `python -m memnet simulate` calls these two. ----

def _names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())


def add_simulate_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = WorldConfig()
    parser.add_argument("--out", required=True, type=Path, help="directory for the <task>_train.txt / _test.txt files")
    parser.add_argument("--setting", choices=sorted(SETTINGS), default="actor+object")
    parser.add_argument("--difficulty", type=int, default=5, help="1 or 5 in the paper")
    parser.add_argument("--statements", type=int, default=7000, help="per split (paper: 7000)")
    parser.add_argument("--questions", type=int, default=3000, help="per split (paper: 3000)")
    parser.add_argument("--story-length", type=int, default=defaults.story_length)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--word-sequence", action="store_true", help="join statements into word streams")
    parser.add_argument("--sentence-answers", action="store_true", help="also write <split>.answers.jsonl")
    parser.add_argument("--actors", type=_names, default=defaults.actors, help="comma-separated names")
    parser.add_argument("--she", type=_names, default=defaults.she, help="actors called 'she'")
    parser.add_argument("--rooms", type=_names, default=defaults.rooms)
    parser.add_argument("--objects", type=_names, default=defaults.objects)


def run_simulate(args: argparse.Namespace) -> int:
    """Write train and test splits (same sizes, one seeded stream) and the config used."""
    config = setting_config(args.setting, actors=args.actors, she=args.she, rooms=args.rooms,
                            objects=args.objects, difficulty=args.difficulty,
                            story_length=args.story_length, word_sequence=args.word_sequence)
    rng = random.Random(args.seed)
    stem = task_name(args.setting, args.difficulty, args.word_sequence)
    for split in ("train", "test"):
        stories = generate(config, args.statements, args.questions, rng)
        write_split(stories, args.out, f"{stem}_{split}", args.sentence_answers, args.word_sequence)
    meta = {"setting": args.setting, "seed": args.seed, "statements": args.statements,
            "questions": args.questions, "config": asdict(config)}
    (args.out / f"{stem}.world.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"wrote {args.out}/{stem}_train.txt and _test.txt ({args.statements} statements, "
          f"{args.questions} questions each)")
    return 0
