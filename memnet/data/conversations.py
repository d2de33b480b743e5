"""Training data the way people talk (issue 12), written as bAbI-format files `train` reads.

A conversation is not a bAbI story: topics mix, memories grow long, names are new and the
phrasing is everyday English. Each written story is one *main* story, whose questions are
kept, with the statements of unrelated *distractor* stories interleaved into its memory (up to
`max_factor` times as many lines), so most memories are unrelated to any one question. The
questions keep their supporting-fact line numbers through the interleaving.

Main and distractor stories come from three sources:

- bAbI stories read from a folder (`--babi`), with their people, places and objects redrawn
  per story (a share of them, `rename`; distractors always);
- the simulated world (`memnet.data.world`) with redrawn actors, rooms and objects;
- everyday stories from the grammar below: "is in", "'s in", "walked into", "headed to",
  "went home", negation ("did not go to": the model must not take that place), "and"-lists,
  "they" after a named pair, multi-word places and names ("New York", "the living room"),
  and questions the memory cannot answer, whose answer is the word `unknown` (R learns it as
  a dictionary word, as it learns "yes" or "nothing": the simplest abstention, and one the
  panel can show with the supports that led to it).

Names, places and objects come from Faker's locale lists (first names of the English locales,
US states, countries and cities, the English lorem nouns), less every word of the bAbI files
and the simulator's defaults, and less any word the spaCy I does not keep as one token.
Each pool is split in two by a hash of the word (`held_out`): training draws from one part
only, the benchmark's renamed and unseen sets from the other, so a held-out word is never
seen in training, whatever the seed.

    python -m memnet conversations --babi ../shared/babi/en-10k --out data/conv --seed 0
"""
from __future__ import annotations

import argparse
import functools
import random
import re
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable, Sequence

from memnet.data.babi import Question, Story, load_tasks, parse_task_range
from memnet.data.world import Question as WorldQuestion, WorldConfig, generate, setting_config
from memnet.features import answer_form
from memnet.input.coref import name_gender
from memnet.records import NOTHING, UNKNOWN

BENCH_DATA = Path(__file__).resolve().parents[2] / "bench" / "data"  # the hand-written plain-English set
HELD_OUT_SHARE = 4  # one word in four is held out for the benchmark
PRONOUNS = frozenset("he she they him her them his their it its there".split())
_WORD = re.compile(r"[A-Za-z]+")


def held_out(word: str) -> bool:
    """Whether `word` belongs to the held-out half of the pools (a stable hash, not a seed)."""
    return zlib.crc32(word.lower().encode("utf-8")) % HELD_OUT_SHARE == 0


# --- pools ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Pools:
    """Words to redraw entities from: first names (female ones also listed apart, for "she"),
    common nouns (objects and places with "the"), named places (no article, often multi-word)."""

    people: tuple[str, ...]
    female: frozenset[str]
    nouns: tuple[str, ...]
    named_places: tuple[str, ...]

    def words(self) -> set[str]:
        return {w.lower() for w in (*self.people, *self.nouns, *self.named_places)}


def babi_words(folder: str | Path) -> set[str]:
    """Every word (lower case) of the bAbI-format files under `folder`."""
    words: set[str] = set()
    for path in Path(folder).rglob("*.txt"):
        words.update(w.lower() for w in _WORD.findall(path.read_text(encoding="utf-8")))
    return words


def _faker_lists() -> tuple[list[str], set[str], list[str], list[str]]:
    from faker.providers.address.en_US import Provider as Address
    from faker.providers.geo import Provider as Geo
    from faker.providers.lorem.en_US import Provider as Lorem
    from faker.providers.person import en_GB, en_IE, en_IN, en_NZ, en_US

    people: dict[str, None] = {}
    female: set[str] = set()
    for module in (en_US, en_GB, en_IE, en_IN, en_NZ):
        people.update(dict.fromkeys(module.Provider.first_names))
        female.update(getattr(module.Provider, "first_names_female", ()))
    places = [*Address.states, *Address.countries, *(row[2] for row in Geo.land_coords)]
    return list(people), female, list(Lorem.parts_of_speech["noun"]), places


@functools.cache
def _pools(exclude: frozenset[str]) -> tuple[Pools, Pools]:
    from memnet.input.spacy_input import SpacyInput

    people, female, nouns, places = _faker_lists()
    world = WorldConfig()
    exclude = exclude | {w.lower() for w in (*world.actors, *world.rooms, *world.objects)} | {UNKNOWN, "home"}
    people = sorted({p for p in people if p.isascii() and p.isalpha() and 3 <= len(p) <= 10 and p.lower() not in exclude})
    nouns = sorted({n for n in nouns if n.isalpha() and len(n) >= 3 and not n.endswith("s") and n not in exclude})
    places = sorted({p for p in places if re.fullmatch(r"[A-Z][a-z]+( [A-Z][a-z]+){0,2}", p)
                     and not any(w.lower() in exclude for w in p.split())})
    nouns = [n for n in nouns if n.capitalize() not in people]
    # keep only what the spaCy I reads as one token of that very form, so answers match
    I = SpacyInput()
    def kept(words, template, position):
        texts = [template.format(w) for w in words]
        return [w for w, out in zip(words, I.pipe(texts))
                if len(out) == 1 and out[0].tokens and out[0].tokens[position] == "_".join(w.lower().split())]
    people = kept(people, "{} went to the kitchen.", 0)
    nouns = [n for n in kept(nouns, "Mary picked up the {}.", -1) if n in kept([n], "Mary went to the {}.", -1)]
    places = kept(places, "Mary travelled to {}.", -1)
    female = frozenset(female)

    def part(words, out):
        return tuple(w for w in words if held_out(w) == out)
    return tuple(Pools(part(people, out), female, part(nouns, out), part(places, out)) for out in (False, True))


def pools(babi: str | Path | None = None, extra_exclude: Iterable[str] = ()) -> tuple[Pools, Pools]:
    """(training pools, held-out pools) from Faker, less the words of the bAbI files under `babi`.

    Loads the spaCy I once (a few seconds); cached per process. Raises FileNotFoundError if
    `babi` is given and missing."""
    exclude = set(w.lower() for w in extra_exclude)
    if babi is not None:
        if not Path(babi).exists():
            raise FileNotFoundError(f"{babi}: no such bAbI folder")
        exclude |= babi_words(babi)
    return _pools(frozenset(exclude))


class Drawer:
    """Draws distinct entity words for one memory: no two stories interleaved together share one."""

    def __init__(self, pools: Pools, rng: random.Random, taken: Iterable[str] = ()):
        self.pools, self.rng = pools, rng
        self.taken = {w.lower() for w in taken}
        self.reserved = set(self.taken)   # the main story's words: never drawn again
        self._by_gender: dict[str, list[str]] = {}

    def _draw(self, words: Sequence[str]) -> str:
        for attempt in range(2000):
            if attempt == 1000:   # a very long memory used up the pool: distractors may share words again
                self.taken = set(self.reserved)
            word = self.rng.choice(words)
            if word.lower() not in self.taken:
                self.taken.add(word.lower())
                return word
        raise ValueError("the pools are too small for this many entities in one memory")

    def person(self, gender: str | None = None) -> str:
        """A first name; with `gender` ("m" or "f"), one coreference reads as that gender, so a
        renamed "she" still finds her."""
        if gender is None:
            return self._draw(self.pools.people)
        if gender not in self._by_gender:
            self._by_gender[gender] = [p for p in self.pools.people if name_gender(p) == gender]
        return self._draw(self._by_gender[gender])

    def noun(self) -> str:
        return self._draw(self.pools.nouns)

    def known(self, names: Sequence[str]) -> str:
        """One of `names` (words training has rows for, such as bAbI's people) not yet in this memory."""
        return self._draw(names)

    def named_place(self) -> str:
        return self._draw(self.pools.named_places)


# --- bAbI-format stories: entities, renaming, interleaving ----------------------------------

@dataclass(frozen=True)
class Entities:
    """The words of a story that name people (capitalised) and things or places (nouns)."""

    names: frozenset[str]
    nouns: frozenset[str]


def task_entities(stories: Sequence[Story], sample: int = 3000) -> Entities:
    """Entity words of a bAbI task, from its text: names are the words the spaCy parse tags as
    proper nouns or that are written capitalised mid-sentence ("Where is Mary?"); nouns are the
    nouns of statements that the parse gives a "the", in their base form, except relational ones
    followed by "of" ("the left of", "the box of"). Animals and colours without "the" (tasks 15,
    16) stay as they are."""
    from memnet.input.spacy_input import load_nlp

    statements = list(dict.fromkeys(t for s in stories for t in s.statements))[:sample]
    questions = list(dict.fromkeys(q.text for s in stories for q in s.questions))[:sample]
    names = {w.lower() for t in (*statements, *questions) for w in _WORD.findall(t)[1:] if w[0].isupper() and w != "I"}
    nouns = set()
    nlp = load_nlp()
    for doc in nlp.pipe(questions, batch_size=256):
        names.update(t.lower_ for t in doc if t.pos_ == "PROPN" and t.is_alpha and t.text[0].isupper())
    for doc in nlp.pipe(statements, batch_size=256):
        for t in doc:
            after = doc[t.i + 1].lower_ if t.i + 1 < len(doc) else ""
            if t.pos_ == "PROPN" and t.is_alpha and t.text[0].isupper():
                names.add(t.lower_)
            elif t.pos_ == "NOUN" and t.is_alpha and t.lower_ == t.lemma_.lower() and after != "of" \
                    and any(c.dep_ == "det" and c.lower_ == "the" for c in t.children):
                nouns.add(t.lower_)
    return Entities(frozenset(names), frozenset(nouns - names))


def story_entities(story: Story, entities: Entities) -> set[str]:
    words = {w.lower() for t in (*story.statements, *(q.text for q in story.questions)) for w in _WORD.findall(t)}
    return words & (entities.names | entities.nouns)


def rename(story: Story, entities: Entities, drawer: Drawer) -> Story:
    """`story` with each of its entity words replaced by a fresh word from `drawer` (names by
    names of the same gender where coreference knows it, nouns by nouns), in statements,
    questions and answers alike."""
    mapping = {w: (drawer.person(name_gender(w)) if w in entities.names else drawer.noun()).lower()
               for w in sorted(story_entities(story, entities))}
    return _substitute(story, mapping) if mapping else story


def _substitute(story: Story, mapping: dict[str, str]) -> Story:
    """`story` with every word in `mapping` (lower case) replaced, in statements, questions and answers."""
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, mapping)) + r")\b", re.IGNORECASE)

    def sub(text: str) -> str:
        return pattern.sub(lambda m: _same_case(m.group(0), mapping[m.group(0).lower()]), text)
    answers = lambda a: ",".join(_same_case(p, mapping[p.lower()]) if p.lower() in mapping else p  # noqa: E731
                                 for p in a.split(","))
    return Story([sub(s) for s in story.statements],
                 [replace(q, text=sub(q.text), answer=answers(q.answer)) for q in story.questions])


def _same_case(typed: str, word: str) -> str:
    return " ".join(p.capitalize() for p in word.split()) if typed[:1].isupper() else word


def _units(statements: Sequence[str]) -> list[list[int]]:
    """Runs of statement indices that must stay together: a line with a pronoun ("Then she
    went ...") stays right after the line before it, so coreference still finds its antecedent."""
    units: list[list[int]] = []
    for i, text in enumerate(statements):
        glued = units and any(w.lower() in PRONOUNS for w in _WORD.findall(text))
        if glued:
            units[-1].append(i)
        else:
            units.append([i])
    return units


def interleave(main: Story, distractors: Sequence[Story], factor: float, rng: random.Random) -> Story:
    """`main` with about (factor - 1) x its statements from `distractors` (in their order, their
    questions dropped) inserted at random places, before any statement or question. Questions
    keep their memory (everything written before them) and their supporting facts."""
    extra = round((factor - 1) * len(main.statements))
    pool = [d.statements[i] for d in distractors for unit in _units(d.statements) for i in unit]
    units = [[pool[i] for i in unit] for unit in _units(pool)]
    chosen, count = [], 0
    for unit in units:
        if count >= extra:
            break
        chosen.append(unit)
        count += len(unit)
    slots = sorted(rng.randint(0, len(main.statements)) for _ in chosen)  # before main statement i (or at the end)
    statements: list[str] = []
    new_index: list[int] = []  # main statement i -> its index in the merged memory
    k = 0
    main_units = _units(main.statements)
    starts = {unit[0] for unit in main_units}
    for i, text in enumerate(main.statements):
        while k < len(chosen) and slots[k] <= i and i in starts:
            statements.extend(chosen[k])
            k += 1
        new_index.append(len(statements))
        statements.append(text)
    while k < len(chosen):
        statements.extend(chosen[k])
        k += 1
    questions = [replace(q, supports=tuple(new_index[s] for s in q.supports),
                         n_statements=new_index[q.n_statements] if q.n_statements < len(main.statements) else len(statements))
                 for q in main.questions]
    return Story(statements, questions)


def babi_lines(story: Story) -> list[str]:
    """The story as bAbI-format lines, ids from 1, each question after the statements it sees."""
    lines: list[str] = []
    line_of: dict[int, int] = {}
    asked = sorted(range(len(story.questions)), key=lambda i: story.questions[i].n_statements)
    q = 0
    for i in range(len(story.statements) + 1):
        while q < len(asked) and story.questions[asked[q]].n_statements == i:
            question = story.questions[asked[q]]
            support = " ".join(str(line_of[s]) for s in question.supports)
            lines.append(f"{len(lines) + 1} {question.text}\t{question.answer}\t{support}")
            q += 1
        if i < len(story.statements):
            line_of[i] = len(lines) + 1
            lines.append(f"{len(lines) + 1} {story.statements[i]}")
    return lines


# --- the simulated world, redrawn -------------------------------------------------------------

def world_story(drawer: Drawer, rng: random.Random, statements: int = 12, questions: int = 4) -> Story:
    """One simulated-world story (actor+object, difficulty 5) with redrawn names, in the world's own
    grammar (a room or object with "the" or without, drawn per mention, as the unseen world's test
    stories are)."""
    actors = tuple(drawer.person() for _ in range(4))
    config = setting_config("actor+object", actors=actors, she=tuple(a for a in actors if a in drawer.pools.female),
                            rooms=tuple(drawer.noun() for _ in range(5)), objects=tuple(drawer.noun() for _ in range(3)),
                            containers=(), story_length=statements)
    (lines,) = generate(config, statements, questions, rng)
    return from_world(lines)


def from_world(lines: Sequence) -> Story:
    story = Story()
    statement_of: dict[int, int] = {}
    for number, line in enumerate(lines, 1):
        if isinstance(line, WorldQuestion):
            story.questions.append(Question(line.text, line.answer, tuple(statement_of[s] for s in line.support),
                                            len(story.statements)))
        else:
            statement_of[number] = len(story.statements)
            story.statements.append(line.text)
    return story


# --- everyday stories -----------------------------------------------------------------------

MOVES = ("{p} went to {l}", "{p} walked into {l}", "{p} headed to {l}", "{p} moved to {l}", "{p} travelled to {l}",
         "{p} is in {l}", "{p}'s in {l}", "{p} ran to {l}", "Afterwards {p} went to {l}", "Then {p} went to {l}",
         "{p} flew to {l}", "{p} drove to {l}", "Later {p} went to {l}", "{p} went to {l} afterwards",
         "{p} walked to {l}", "{p} is at {l}", "{p}'s at {l}", "After that {p} went to {l}", "{p} went back to {l}",
         "{p} is in {l} now")
HOME = ("{p} went home", "Afterwards {p} went home", "{p} headed home", "Then {p} went back home",
        "{p} went home afterwards", "Later {p} went home", "After that {p} headed home")
NOT_MOVES = ("{p} did not go to {l}", "{p} didn't go to {l}", "{p} is not in {l}", "{p} never went to {l}")
GETS = ("{p} picked up {o}", "{p} took {o}", "{p} grabbed {o}", "{p} got {o}", "{p} is holding {o}",
        "{p} is carrying {o}")
DROPS = ("{p} dropped {o}", "{p} put down {o}", "{p} left {o} there")
GROUP_MOVES = ("{a} and {b} went to {l}", "{a} and {b} headed to {l}", "{a} and {b} walked into {l}")
THEY_GETS = ("They picked up {o}", "They took {o}", "Then they grabbed {o}")
# How often a person's place is asked right after a newer line that names them but does not place them
# (a negated move, a pick-up or a drop, "they" taking something): bAbI asks "where is <person>" only in
# stories of moves (tasks 1, 11-13), where the newest line naming them answers, so without these O learns
# "the newest mention" and R answers from it ("Emily took the apple." -> "Where is Emily?" -> apple).
ASK_PAST_NEWER = 0.3
# The share of an everyday story's people drawn from bAbI's names instead of the Faker pools. Redrawn
# names stay unseen (`--min-count`), so without this the everyday grammar trains only the `<unk>` name's
# rows, and a bAbI name ("Where is John?") keeps bAbI's habits: measured on two retrains, "John did not
# go to the garden" -> garden, while "Zorba did not go to the garden" -> kitchen.
KNOWN_PEOPLE = 0.3


@dataclass
class _Tracker:
    """What the story so far says, with the statement indices each belief rests on."""

    place: dict[str, tuple[str, int]] = field(default_factory=dict)       # person -> (place, line)
    moves: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # person -> every (place, line), oldest first
    dropped_last: dict[str, int] = field(default_factory=dict)             # person -> the line of their newest drop
    holder: dict[str, tuple[str, int]] = field(default_factory=dict)      # object -> (person, line)
    dropped: dict[str, tuple[str, tuple[int, ...]]] = field(default_factory=dict)  # object -> (place, lines)

    def where_object(self, obj: str) -> tuple[str, tuple[int, ...]] | None:
        if obj in self.holder:
            person, line = self.holder[obj]
            if person in self.place:
                place, move = self.place[person]
                return place, (line, move)
            return None
        return self.dropped.get(obj)

    def move(self, person: str, place: str, line: int) -> None:
        self.place[person] = (place, line)
        self.moves.setdefault(person, []).append((place, line))

    def carrying(self, person: str) -> list[tuple[str, int]]:
        return [(o, line) for o, (p, line) in self.holder.items() if p == person]


def _place_word(place: str) -> str:
    """The answer word of a place as written ("the living room" -> "living room")."""
    return place[4:] if place.startswith("the ") else place


def everyday_story(drawer: Drawer, rng: random.Random, events: int = 10, known: Sequence[str] = ()) -> Story:
    """A short story in everyday phrasing, with questions on people, objects and things never said.

    Every question's answer follows from the lines it names as supports; an "unknown" question
    names no line (nothing supports any answer). Each person is one of the `known` names (bAbI's
    people) with probability `KNOWN_PEOPLE`, else drawn from the pools."""
    people = [drawer.known(known) if known and rng.random() < KNOWN_PEOPLE else drawer.person()
              for _ in range(rng.randint(2, 4))]
    if rng.random() < 0.25:  # a full name, one memory word ("Anika Patel" -> anika_patel)
        people[0] = f"{people[0]} {drawer.person()}"
    places = [f"the {drawer.noun()}" for _ in range(3)]
    places.append(f"the {drawer.noun()} {drawer.noun()}" if rng.random() < 0.5 else drawer.named_place())
    objects = [f"the {drawer.noun()}" for _ in range(3)]
    story, state = Story(), _Tracker()

    def say(text: str) -> int:
        story.statements.append(text[0].upper() + text[1:] + ".")
        return len(story.statements) - 1

    def ask(text: str, answer: str, supports: tuple[int, ...]) -> None:
        question = Question(text, answer, supports, len(story.statements))
        if not story.questions or story.questions[-1] != question:
            story.questions.append(question)

    def ask_past_newer(who: str) -> None:
        # right after a line that names them without placing them: their place, from the older line
        if rng.random() < ASK_PAST_NEWER:
            place, line = state.place[who]
            ask(f"Where is {who}?", _place_word(place), (line,))

    for _ in range(events):
        person = rng.choice(people)
        here = state.place.get(person, (None,))[0]
        roll = rng.random()
        held = state.carrying(person)
        if roll < 0.1 and here is not None and len(people) >= 2:
            other = rng.choice([p for p in people if p != person])
            place = rng.choice([p for p in places if p != here])
            line = say(rng.choice(GROUP_MOVES).format(a=person, b=other, l=place))
            for p in (person, other):
                state.move(p, place, line)
            free = [o for o in objects if o not in state.holder]
            if free and rng.random() < 0.6:
                obj = rng.choice(free)
                got = say(rng.choice(THEY_GETS).format(o=obj))
                state.holder[obj] = (f"{person}+{other}", got)  # the pair holds it: nobody alone drops it
                state.dropped.pop(obj, None)
                ask(f"Where is {obj}?", _place_word(place), (got, line))
                objects.remove(obj)  # where it is after one of them leaves is not told
                ask_past_newer(rng.choice((person, other)))
        elif roll < 0.45 or here is None:
            place = rng.choice([p for p in places + ["home"] if p != here])
            template = rng.choice(HOME if place == "home" else MOVES)
            state.move(person, place, say(template.format(p=person, l=place)))
            if rng.random() < 0.3:  # a negated move right after: the newer memory that must lose
                say(rng.choice(NOT_MOVES).format(p=person, l=rng.choice([p for p in places if p != place])))
                ask_past_newer(person)
        elif roll < 0.7:
            free = [o for o in objects if o not in state.holder]
            if not free:
                continue
            some = rng.sample(free, k=min(len(free), rng.choice((1, 1, 2, 3))))
            listed = some[0] if len(some) == 1 else ", ".join(some[:-1]) + " and " + some[-1]
            line = say(rng.choice(GETS).format(p=person, o=listed))
            for obj in some:
                state.holder[obj] = (person, line)
                state.dropped.pop(obj, None)
            ask_past_newer(person)
        elif held:
            obj, _ = rng.choice(held)
            line = say(rng.choice(DROPS).format(p=person, o=obj))
            del state.holder[obj]
            place, move = state.place[person]
            state.dropped[obj] = (place, (line, move))
            state.dropped_last[person] = line
            ask_past_newer(person)
        else:
            continue
        if rng.random() < 0.5:
            _ask_about(rng, people, places, objects, state, ask)
    for _ in range(2):
        _ask_about(rng, people, places, objects, state, ask)
    for _ in range(2):
        _ask_unknown(drawer, rng, people, places, objects, state, ask, story.statements)
    return story


def _ask_about(rng, people, places, objects, state: _Tracker, ask) -> None:
    kind = rng.choice(("person", "object", "carrying", "yes/no", "before"))
    person, obj = rng.choice(people), rng.choice(objects) if objects else None  # "they" may have taken them all
    if kind == "person" and person in state.place:
        place, line = state.place[person]
        ask(f"Where is {person}?", _place_word(place), (line,))
    elif kind == "object" and obj is not None and (found := state.where_object(obj)) is not None:
        ask(f"Where is {obj}?", _place_word(found[0]), found[1])
    elif kind == "carrying" and len(held := state.carrying(person)) == 1:
        # one object: a list answer would need R to have seen that very list
        ask(f"What is {person} carrying?", _place_word(held[0][0]), (held[0][1],))
    elif kind == "carrying" and not held and person in state.dropped_last \
            and not any(person in h.split("+") for h, _ in state.holder.values()):   # nor with someone else
        # as in bAbI's task 8: "nothing" once they dropped what they took, supported by the drop (not by a
        # move line: that would pair "X went to Y" with "nothing" for R)
        ask(f"What is {person} carrying?", NOTHING, (state.dropped_last[person],))
    elif kind == "before":
        # "before" a place they went to once, and not straight from that same place (a pair's move)
        moves = state.moves.get(person, [])
        once = [i for i in range(1, len(moves)) if moves[i][0] != "home" and moves[i - 1][0] != moves[i][0]
                and sum(p == moves[i][0] for p, _ in moves) == 1]
        if once:
            i = rng.choice(once)
            ask(f"Where was {person} before {moves[i][0]}?", _place_word(moves[i - 1][0]), (moves[i - 1][1], moves[i][1]))
    elif kind == "yes/no" and person in state.place:
        place, line = state.place[person]
        asked = place if place != "home" and rng.random() < 0.5 else rng.choice([p for p in places if p != place])
        ask(f"Is {person} in {asked}?", "yes" if asked == place else "no", (line,))


def _ask_unknown(drawer: Drawer, rng, people, places, objects, state: _Tracker, ask, statements: Sequence[str]) -> None:
    """A question about someone or something never mentioned, where a place is, or an entity whose
    place was never said. The last two name the newest line that mentions it as their support:
    that is what O finds, and R must learn that it says nothing about where that is."""
    roll = rng.random()
    mentioned = [p for p in places if p != "home" and any(_place_word(p) in text for text in statements)]
    if roll < 0.3:
        ask(f"Where is {drawer.person()}?", UNKNOWN, ())
    elif roll < 0.55:
        ask(f"Where is the {drawer.noun()}?", UNKNOWN, ())
    elif roll < 0.7 and mentioned:
        place = rng.choice(mentioned)
        ask(f"Where is {place}?", UNKNOWN, _last_mention(place, statements))
    else:
        unplaced = [p for p in people if p not in state.place] + [o for o in objects if state.where_object(o) is None]
        if unplaced:
            entity = rng.choice(unplaced)
            ask(f"Where is {entity}?", UNKNOWN, _last_mention(entity, statements))
        else:
            ask(f"What is {drawer.person()} carrying?", UNKNOWN, ())


def _last_mention(entity: str, statements: Sequence[str]) -> tuple[int, ...]:
    """The index of the newest statement that names `entity` (as a support: none if none does)."""
    said = re.compile(rf"\b{re.escape(_place_word(entity))}\b", re.IGNORECASE)
    return tuple(i for i, text in enumerate(statements) if said.search(text))[-1:]


# --- counting stories (bAbI 7's kind) ----------------------------------------------------------

GIVES = ("{p} gave {o} to {q}", "{p} handed {o} to {q}", "{p} passed {o} to {q}")
COUNTS = ("none", "one", "two", "three")
COUNT_CARRYING = 0.3   # the share of `write_conversations`' counting questions that ask what someone carries


def counting_story(people: Sequence[str], places: Sequence[str], objects: Sequence[str], rng: random.Random,
                   carrying: float = 0.0) -> Story:
    """4-14 events (moves, pick-ups, drops, gives), a question after about a third of them: how many
    objects someone holds, supported, as bAbI 7's are, by every line about their objects so far.

    bAbI 7's train files rarely count pick-ups alone (en: 25 questions answered "two" by two pick-ups,
    one "three" by three), and a model trained on them answers two pick-ups with "none"
    (`bench/count_pilot.py`, bench/notes/babi.md). With probability `carrying` a question asks instead
    what they carry, answered as bAbI 8's list ("milk,apple", or "nothing"), the everyday lists that
    bAbI 8's own stories ask only after "there" lines. At most three `objects` (`COUNTS` names no more)."""
    story = Story()
    held: dict[str, list[str]] = {p: [] for p in people}
    events: dict[str, list[int]] = {p: [] for p in people}   # the lines about each person's objects

    def say(text: str, *about: str) -> None:
        story.statements.append(text + ".")
        for person in about:
            events[person].append(len(story.statements) - 1)

    for _ in range(rng.randint(4, 14)):
        person, roll = rng.choice(people), rng.random()
        free = [o for o in objects if not any(o in h for h in held.values())]
        mine = sorted(held[person])
        if roll < 0.45 and free:
            obj = rng.choice(free)
            say(rng.choice(GETS[:4]).format(p=person, o=f"the {obj}"), person)
            held[person].append(obj)
        elif roll < 0.6 and mine:
            obj = rng.choice(mine)
            say(rng.choice(DROPS[:2]).format(p=person, o=f"the {obj}"), person)
            held[person].remove(obj)
        elif roll < 0.7 and mine:
            obj, other = rng.choice(mine), rng.choice([p for p in people if p != person])
            say(rng.choice(GIVES).format(p=person, o=f"the {obj}", q=other), person, other)
            held[person].remove(obj)
            held[other].append(obj)
        else:
            say(f"{person} went to the {rng.choice(places)}")
        asked = [p for p in people if events[p]]
        if asked and rng.random() < 0.35:
            who = rng.choice(asked)
            if carrying and rng.random() < carrying:   # (no draw at 0: the pilot's stories stay as they were)
                question = f"What is {who} carrying?", ",".join(held[who]) or NOTHING
            else:
                question = f"How many objects is {who} carrying?", COUNTS[len(held[who])]
            story.questions.append(Question(*question, tuple(events[who]), len(story.statements)))
    return story


def task_words(task_stories: Sequence[Story], entities: Entities) -> tuple[list[str], list[str], list[str]]:
    """A bAbI task's people (capitalised), places and objects, each sorted, from its `task_entities`."""
    places = babi_places(task_stories, entities.nouns)
    return (sorted(n.capitalize() for n in entities.names), sorted(places), sorted(entities.nouns - places))


# --- bAbI stories with their words mixed across tasks -------------------------------------------

PLACE_BEFORE = re.compile(r"\b(?:to|in|into) the ([a-z]+)\b")
BABI_UNKNOWN_ASKS = ("Where is {p}?", "Where is {p}?", "Where is the {n}?", "What is {p} carrying?")


def babi_places(stories: Sequence[Story], nouns: Iterable[str]) -> frozenset[str]:
    """The nouns of a task that its statements name as places: after "to the", "in the", "into the"."""
    said = {m.group(1) for s in stories for text in s.statements for m in PLACE_BEFORE.finditer(text)}
    return frozenset(said & set(nouns))


def mix_babi(story: Story, entities: Entities, people: Pools, places: Sequence[str], rng: random.Random,
             unknown: float) -> Story:
    """`story` with its people and places redrawn from every task's (`people`: the bAbI names,
    each of the gender the coreference rules give it, so "she" still finds her; `places`), so
    that no name or place tells R which task, and so which kind of answer, a question is from.
    With probability `unknown`, one question about a person or thing the story never names (a
    bAbI word all the same: R must learn "not in memory", not "a word I never saw") is added,
    after a random number of statements, answered `UNKNOWN` with no support."""
    mine = story_entities(story, entities)
    named = sorted(mine & entities.names)
    placed = sorted(mine & set(places))
    for q in story.questions:   # a place answered from knowledge, not memory (task 20's "where will X go"): keep
        seen = {w.lower() for text in story.statements[: q.n_statements] for w in _WORD.findall(text)}
        if any(part in placed and part not in seen for part in q.answer.lower().split(",")):
            placed = []
            break
    mapping: dict[str, str] = {}
    free = {g: [p.lower() for p in people.people if name_gender(p) == g] for g in ("f", "m", None)}
    for name in named:
        choices = [p for p in free[name_gender(name)] if p not in mapping.values()]
        mapping[name] = rng.choice(choices) if choices else name
    spare = [p for p in places if p not in placed]
    for place, new in zip(placed, rng.sample(list(places), len(placed)) if len(places) >= len(placed) else placed):
        mapping[place] = new
    mixed = _substitute(story, mapping) if mapping else story
    if story.statements and rng.random() < unknown:
        mixed = ask_absent(mixed, people.people, (*people.nouns, *spare), rng)
    return mixed


def ask_absent(story: Story, people: Sequence[str], things: Sequence[str], rng: random.Random) -> Story:
    """`story` with one question (`BABI_UNKNOWN_ASKS`) about a person of `people` or a thing of
    `things` that it never names, after a random number of statements, answered `UNKNOWN` with no
    support; `story` as it is if every one of them is named."""
    used = {w.lower() for t in story.statements for w in _WORD.findall(t)}
    absent_people = [p for p in people if p.lower() not in used]
    absent_things = [n for n in things if n.lower() not in used]
    template = rng.choice(BABI_UNKNOWN_ASKS)
    if not (absent_people and absent_things):
        return story
    text = template.format(p=rng.choice(absent_people).capitalize(), n=rng.choice(absent_things))
    at = rng.randint(1, len(story.statements))
    return Story(story.statements, sorted([*story.questions, Question(text, UNKNOWN, (), at)], key=lambda q: q.n_statements))


def answerable(original: Story, renamed: Story, entities: Entities) -> tuple[Story, int]:
    """`renamed` (`rename` of `original`) without the questions whose answer names an entity (a
    person, place or object) that is nowhere in the memory the question sees, as in task 20's "where
    will X go" (answered from knowledge of the old word, not from memory); how many went. Other
    answers ("yes", "two", "n,w") are the model's own words and stay."""
    kept = []
    for before, q in zip(original.questions, renamed.questions):
        seen = {w.lower() for text in renamed.statements[: q.n_statements] for w in _WORD.findall(text)}
        named = [new for old, new in zip(answer_form(before.answer).split(","), answer_form(q.answer).split(","))
                 if old in entities.names | entities.nouns]
        if all(part in seen for part in named):
            kept.append(q)
    return Story(renamed.statements, kept), len(renamed.questions) - len(kept)


def write_mixed(out: str | Path, babi: str | Path, seed: int = 0, share: float = 0.5, unknown: float = 0.5,
                tasks: set[int] | None = None, renamed: float = 0.0, exclude: Sequence[str | Path] = (),
                balance: float = 0.0) -> dict[str, int]:
    """Every bAbI train file under `babi` again, under its own name in `out`: all its stories as
    they are, and after them a mixed copy (`mix_babi`: people and places drawn from all tasks'
    words, an unanswerable question added to a share `unknown` of those) of a share `share` of
    them; a copy adds to the task's stories rather than replacing one, so a task with few (en's
    task 3) keeps every story it learns from. A share `renamed` of the copies of stories with
    entities is instead the story `rename`d from the training pools (every person, place and object a
    word of the Faker pools, none of the held-out half nor of the `exclude` folders' files; questions
    whose answer is then nowhere in memory dropped, `answerable`), with the same share `unknown`
    asking about a pool name or noun it never names: so that O and R learn the tasks on
    words they have no rows for, as the renamed benchmark and new users' names are. Stories that name
    nobody (tasks 4 and 17-19's rooms, shapes and boxes) are renamed alike: their relations then hold
    between words without rows, which R reads by where the question's words stand (`entity_roles`;
    a per-task pilot in bench/results/renamed-relations.md: renamed 17 61.9 → 99.1%). With `balance` B > 0, a file that would end
    smaller than B times the largest gets more copies per story, on average B (1 + share) largest / own − 1,
    so that it ends about that large (B = 1: a joint model sees each task about equally often; en's task
    3, 1,000 questions among en-10k's 10,000 a task, is otherwise seen a tenth as often). Returns
    questions per file."""
    babi_tasks = [t for t in load_tasks(babi, tasks) if t.train]
    train_pools = pools(babi, {w for folder in exclude for w in babi_words(folder)})[0] if renamed else None
    entities = {t.name: task_entities(t.train) for t in babi_tasks}
    places = {t.name: babi_places(t.train, entities[t.name].nouns) for t in babi_tasks}
    every_place = tuple(sorted(set().union(*places.values())))
    things = tuple(sorted(set().union(*(e.nouns for e in entities.values()))))
    names = tuple(sorted({n.capitalize() for e in entities.values() for n in e.names}))
    people = Pools(names, frozenset(), things, ())
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, int] = {}
    asked = {t.name: sum(len(s.questions) for s in t.train) for t in babi_tasks}
    largest = max(asked.values(), default=0)
    for task in babi_tasks:
        rng = random.Random(f"{seed}-mix-{task.name}")
        lines = [line for story in task.train for line in babi_lines(story)]
        # copies per story on average: `share`, or as many as bring the file to `balance` times the largest's size
        target = balance * (1 + share) * largest
        per_story = target / asked[task.name] - 1 if asked[task.name] and target > (1 + share) * asked[task.name] else share
        for story in task.train:
            for _ in range(int(per_story) + (rng.random() < per_story % 1)):
                lines += babi_lines(mixed_copy(story, entities[task.name], people, every_place if places[task.name] else (),
                                               train_pools, renamed, unknown, rng))
        path = out / f"{task.name}_train.txt"
        path.write_text("".join(line + "\n" for line in lines))
        written[path.name] = sum("\t" in line for line in lines)
    return written


def mixed_copy(story: Story, entities: Entities, people: Pools, places: Sequence[str], train_pools: Pools | None,
               renamed: float, unknown: float, rng: random.Random) -> Story:
    """One copy of `write_mixed`'s: a story with entities (people, places, things) renamed from `train_pools` with probability
    `renamed`, else mixed (`mix_babi` with `people` and `places`)."""
    if renamed and story_entities(story, entities) and rng.random() < renamed:
        copy, _ = answerable(story, rename(story, entities, Drawer(train_pools, rng)), entities)
        if story.statements and rng.random() < unknown:
            copy = ask_absent(copy, train_pools.people, train_pools.nouns, rng)
        return copy
    return mix_babi(story, entities, people, places, rng, unknown)


# --- the files ------------------------------------------------------------------------------

def distractors(rng: random.Random, drawer: Callable[[], Drawer], others: Sequence[tuple[Entities, Sequence[Story]]],
                need: int, everyday: bool = True) -> list[Story]:
    """Unrelated stories totalling at least `need` statements: other bAbI tasks' stories,
    simulated-world and (if `everyday`) everyday stories, every entity redrawn by `drawer()`
    (so distinct from the main story's words, which the drawer holds as taken)."""
    out, count = [], 0
    while count < need:
        roll = rng.random() * (1.0 if everyday else 0.75)
        if roll < 0.5 and others:
            entities, stories = rng.choice(others)
            story = rename(rng.choice(stories), entities, drawer())
        elif roll < 0.75:
            story = world_story(drawer(), rng)
        else:
            story = everyday_story(drawer(), rng)
        out.append(story)
        count += len(story.statements)
    return out


def conversation(main: Story, pools_: Pools, rng: random.Random, max_factor: float,
                 others: Sequence[tuple[Entities, Sequence[Story]]], taken: Iterable[str] = ()) -> Story:
    """`main` interleaved with unrelated stories up to `max_factor` times its length (drawn uniformly)."""
    factor = rng.uniform(1, max_factor)
    drawer = Drawer(pools_, rng, taken)
    need = round((factor - 1) * len(main.statements))
    return interleave(main, distractors(rng, lambda: drawer, others, need) if need else [], factor, rng)


def write_conversations(out: str | Path, babi: str | Path, seed: int = 0, tasks: set[int] | None = None,
                        stories: int = 200, test_stories: int = 50, everyday: int = 2000, world: int = 500,
                        max_factor: float = 10.0, rename_share: float = 0.5,
                        exclude: Sequence[str | Path] = (), counting: int = 0) -> dict[str, int]:
    """Write `<task>-conv_train.txt` / `_test.txt` per bAbI task under `babi`, plus
    `qa0_everyday-conv_*`, `qa0_simworld-conv_*` and, with `counting`, `qa0_counting-conv_*`;
    returns the questions written per file.

    Per bAbI task, `stories` train stories (`test_stories` test stories) are main stories, a share
    `rename_share` of them redrawn; everyday and world mains are `everyday` and `world` stories
    (a quarter as many in the test split); `counting` main stories are `counting_story`s in bAbI 7's
    people, places and objects (renamed as bAbI's are), a share `COUNT_CARRYING` of their questions
    asking what someone carries. Everything is drawn from the training pools and
    `random.Random` seeded by (seed, split, file), so a file is the same whatever else is written.
    No word of the bAbI-format files under the `exclude` folders (the hand-written benchmark) is drawn
    from the pools; everyday main stories also name bAbI's people (`KNOWN_PEOPLE`), words the bAbI
    files train anyway."""
    train_pools, _ = pools(babi, {w for folder in exclude for w in babi_words(folder)})
    babi_tasks = load_tasks(babi, tasks)
    entities = {t.name: task_entities(t.train or t.test) for t in babi_tasks}
    babi_people = sorted({name.capitalize() for e in entities.values() for name in e.names})
    if counting:
        counting_task = next((t for t in babi_tasks if t.number == 7), None)
        if counting_task is None:
            raise ValueError("counting stories are drawn in bAbI 7's words: the tasks must include 7 (--tasks)")
        counting_words = task_words(counting_task.train or counting_task.test, entities[counting_task.name])
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, int] = {}
    for split, per_task, share in (("train", stories, 1.0), ("test", test_stories, 0.25)):
        sources = [(entities[t.name], getattr(t, split) or t.train) for t in babi_tasks]
        sources = [source for source in sources if source[1]]   # a task without this split's file (en-10k's task 3)
        groups: list[tuple[str, Iterable]] = []
        for task in babi_tasks:
            rng = random.Random(f"{seed}-{split}-{task.name}")
            picked = rng.sample(getattr(task, split), min(per_task, len(getattr(task, split))))
            groups.append((task.name, ((rng, story, entities[task.name]) for story in picked)))
        groups.append(("qa0_everyday", ((r, None, "everyday") for r in _rngs(seed, split, "everyday", round(everyday * share)))))
        groups.append(("qa0_simworld", ((r, None, "world") for r in _rngs(seed, split, "simworld", round(world * share)))))
        if counting:
            people, places, objects = counting_words
            groups.append(("qa0_counting", ((r, counting_story(r.sample(people, 4), places, objects, r, COUNT_CARRYING),
                                             entities[counting_task.name])
                                            for r in _rngs(seed, split, "counting", round(counting * share)))))
        for name, items in groups:
            lines = []
            for rng, story, kind in items:
                drawer = Drawer(train_pools, rng)
                if kind == "everyday":
                    story = everyday_story(drawer, rng, known=babi_people)
                elif kind == "world":
                    story = world_story(drawer, rng)
                elif rng.random() < rename_share:
                    story = rename(story, kind, drawer)
                taken = drawer.taken | (story_entities(story, kind) if isinstance(kind, Entities) else set())
                others = [s for s in sources if s[0] is not kind]
                lines += babi_lines(conversation(story, train_pools, rng, max_factor, others, taken))
            if not lines:
                continue
            path = out / f"{name}-conv_{split}.txt"
            path.write_text("".join(line + "\n" for line in lines))
            written[path.name] = sum("\t" in line for line in lines)
    return written


def _rngs(seed: int, split: str, name: str, n: int) -> Iterable[random.Random]:
    master = random.Random(f"{seed}-{split}-{name}")
    return (random.Random(master.getrandbits(64)) for _ in range(n))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, type=Path, help="folder for the bAbI-format files")
    parser.add_argument("--babi", required=True, type=Path, help="folder of bAbI files (e.g. ../shared/babi/en-10k)")
    parser.add_argument("--tasks", default="all", help="bAbI task numbers, e.g. 1-20 or 1,2,5 (default: all found)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stories", type=int, default=200, help="main stories per bAbI task (train split)")
    parser.add_argument("--test-stories", type=int, default=50, help="main stories per bAbI task (test split)")
    parser.add_argument("--everyday", type=int, default=2000, help="everyday-phrasing main stories (train split)")
    parser.add_argument("--world", type=int, default=500, help="simulated-world main stories (train split)")
    parser.add_argument("--counting", type=int, default=0, help="counting main stories in bAbI 7's words "
                        "(train split; counting_story): how many objects someone holds, or which")
    parser.add_argument("--max-factor", type=float, default=10.0, help="memory up to this many times the main story's")
    parser.add_argument("--rename", type=float, default=0.5, help="share of bAbI main stories with redrawn entities")
    parser.add_argument("--exclude", type=Path, nargs="*", default=[p for p in [BENCH_DATA] if p.is_dir()],
                        help="folders of bAbI-format files whose words are never drawn (default: bench/data)")
    parser.add_argument("--mixed", type=Path, help="also write each bAbI train file here, with a copy of a share "
                        "of its stories whose people and places are drawn from every task's (mix_babi)")
    parser.add_argument("--mix", type=float, default=0.3, help="share of the stories given a mixed copy in --mixed")
    parser.add_argument("--mix-unknown", type=float, default=0.2,
                        help="share of mixed stories given a question about someone or something never named")
    parser.add_argument("--mix-renamed", type=float, default=0.0,
                        help="share of the copies in --mixed renamed from the training pools instead (default: none)")
    parser.add_argument("--mix-balance", type=float, default=0.0,
                        help="in --mixed, more copies of a smaller file's stories, so that it ends at least this share "
                             "of the largest's size (1: every file about as large; default 0: off)")


def run(args: argparse.Namespace) -> int:
    written = write_conversations(args.out, args.babi, args.seed, parse_task_range(args.tasks), args.stories,
                                  args.test_stories, args.everyday, args.world, args.max_factor, args.rename,
                                  args.exclude, args.counting)
    for name, n in written.items():
        print(f"{args.out / name}: {n} questions")
    if args.mixed is not None:
        mixed = write_mixed(args.mixed, args.babi, args.seed, args.mix, args.mix_unknown, parse_task_range(args.tasks),
                            args.mix_renamed, args.exclude, args.mix_balance)
        for name, n in mixed.items():
            print(f"{args.mixed / name}: {n} questions")
    return 0
