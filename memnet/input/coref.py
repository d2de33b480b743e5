"""Coreference for I, built on spaCy's parse and carried across a conversation.

No offline coreference model ships on PyPI, so pronouns are resolved by rule, the way
the paper's I is allowed to pre-process: each clause is first analysed once from its
parse into pure data (`Clause`: its tokens, the entities it mentions, the pronouns it
uses), then a per-conversation `Discourse` picks an antecedent for every pronoun by
agreement (gender from a name list and pronoun morphology, number from conjunctions and
morphology), recency and a preference for subjects. The analysis does not depend on the
conversation, so it can be cached by text; only `Discourse.resolve` is stateful.

Handled: he/him/his, she/her/hers, they/them/their, it/its, "there" (the actor's last
known place, else the last place mentioned), the subject left out of a conjoined verb
("Daniel went home and slept" -> "Daniel slept"), and a person named by part of a name the
conversation gave in full ("Grandma Imelda flew to Reykjavik. Where is Imelda?").
"""
from __future__ import annotations

import functools
import unicodedata
from dataclasses import asdict, dataclass, field, replace
from typing import Collection, Mapping, Sequence

from spacy.language import Language
from spacy.tokens import Doc, Token

def _faker_names(locale: str, *attributes: str) -> set[str]:
    """The names (lower case) in `attributes` of the person providers of Faker's locales that start
    with `locale` ("" for all): a locale that computes a list (a property) gives none of it."""
    import importlib
    import pkgutil

    from faker.providers import person

    names: set[str] = set()
    for module in sorted(m.name for m in pkgutil.iter_modules(person.__path__) if m.name.startswith(locale)):
        provider = importlib.import_module(f"faker.providers.person.{module}").Provider
        for attribute in attributes:
            listed = getattr(provider, attribute, ())
            if isinstance(listed, (tuple, list, dict)):   # Faker keeps weighted lists as dicts
                names |= {name.lower() for name in listed}
    return names


def _faker_first_names() -> tuple[set[str], set[str]]:
    """Female and male first names (lower case) of Faker's English locales; a name both lists hold
    ("Jordan") is left to recency."""
    female, male = _faker_names("en_", "first_names_female"), _faker_names("en_", "first_names_male")
    return female - male, male - female


@functools.cache
def first_names() -> frozenset[str]:
    """Every first name of every Faker locale, lower case and without accents ("Inês" is "ines"):
    nearly 20,000 names, for telling a name from a plural (`memnet_names`)."""
    every = _faker_names("", "first_names", "first_names_female", "first_names_male")
    folded = (unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode() for name in every)
    return frozenset(name for name in folded if name.isalpha())


# bAbI's, the paper's simulation's and names that are also words ("Will", "May"; see
# memnet_names), then Faker's: "she" after "May went out. Then Will left." means May
_HAND_MALE = frozenset("""
aaron adam alan albert alex alexander andrew antoine anthony arthur ben benjamin bernhard bill
bilbo bob boromir brian carl charles chris christopher colin daniel david dennis edward eric
frank fred frederick frodo gandalf gary george gimli gollum greg gregory harry henry ian jack
jacob james jason jeff jeffrey jim joe john jonathan joseph josh kevin larry legolas leo luke
mark martin matthew max michael mike nathan nick oliver patrick paul peter philip richard
robert roger sam samuel sauron scott sean simon stephen steve steven sumit thomas tim tom
tony victor walter will william yann
""".split())
_HAND_FEMALE = frozenset("""
alice amanda amy anna anne arwen barbara betty carol catherine charlotte chloe claire daisy
diana elizabeth ella emily emma eve galadriel gertrude grace hannah helen jane jennifer
jessica jill joan julia julie karen kate laura lily linda lisa lucy margaret maria marie
mary may megan melissa nancy natalie olivia patricia rachel rebecca rose ruth sandra sara sarah
sophie susan winona zoe
""".split())
_FAKER_FEMALE, _FAKER_MALE = _faker_first_names()
MALE_NAMES = _HAND_MALE | (_FAKER_MALE - _HAND_FEMALE)
FEMALE_NAMES = _HAND_FEMALE | (_FAKER_FEMALE - _HAND_MALE)
NAMES = MALE_NAMES | FEMALE_NAMES


def name_gender(name: str) -> str | None:
    """"m" or "f" for a first name of known gender (any case), else None."""
    lower = name.lower()
    return "m" if lower in MALE_NAMES else "f" if lower in FEMALE_NAMES else None


MALE_NOUNS = frozenset("man boy king father dad brother son husband uncle gentleman prince lord sir".split())
FEMALE_NOUNS = frozenset("woman girl queen mother mom mum sister daughter wife aunt lady princess".split())
COLLECTIVE_NOUNS = frozenset("team family group class band crowd staff police committee crew couple audience "
                             "club choir army company".split())
REFERRED_AS_THE = frozenset("a an his her their its".split())   # a noun phrase's opening word, named again
TITLES = {"mr": "m", "mister": "m", "mrs": "f", "ms": "f", "miss": "f"}   # "Mr Jones" is a he
PERSON_NOUNS = frozenset("person child kid friend teacher student doctor farmer soldier baby boss colleague manager "
                         "neighbour neighbor cousin partner guest client customer nurse chef driver waiter officer "
                         "pilot lawyer engineer assistant secretary owner visitor tourist passenger employee".split())

PLACE_PREPOSITIONS = frozenset("to into in at towards toward inside onto from".split())
MOTION_VERBS = frozenset("go move travel journey come return head walk run arrive enter drive fly be".split())

# pronoun -> (agreement class, possessive form?)
PRONOUNS = {
    "he": ("m", False), "him": ("m", False), "his": ("m", True),
    "she": ("f", False), "hers": ("f", True),
    "they": ("plural", False), "them": ("plural", False), "their": ("plural", True),
    "it": ("it", False), "its": ("it", True),
}
SUBJECT_BONUS = 0.6      # in clauses of recency: a subject two clauses back beats an object one back
GENDER_BONUS = 0.7       # a name of known, matching gender beats an unknown one at equal recency, even a subject
PLACE_PENALTY = 0.8      # "it" prefers things to places
OBLIQUE_PENALTY = 0.5    # within one clause, a direct object beats a preposition's ("took the milk out of the fridge")


@dataclass(frozen=True)
class Mention:
    """An entity as a clause names it: what to write for a pronoun that refers back to it."""

    text: str
    words: tuple[str, ...]
    key: str
    kind: str                          # "person", "thing" or "place"
    gender: str | None = None          # "m", "f" or unknown
    plural: bool = False
    subject: bool = False
    members: tuple[str, ...] = ()      # keys of the conjoined entities of a group
    oblique: bool = False              # the object of a preposition ("out of the fridge")


@dataclass(frozen=True)
class Reference:
    """A pronoun (or an omitted subject) waiting for an antecedent."""

    agreement: str                     # "m", "f", "plural", "it", "there", or "zero" with a fallback
    possessive: bool = False
    subject: bool = False
    motion: bool = False               # "went there": resolve to "to <place>", else "in <place>"
    of_subject: bool = False           # a possessive of the subject's own noun phrase ("Her friend went")
    fallback: Mention | None = None    # for "zero": the subject written in the head clause


@dataclass(frozen=True)
class Piece:
    """One token of a clause: what was typed, what features use, and a pronoun if it is one."""

    typed: str                         # text with its trailing whitespace
    words: tuple[str, ...]
    ref: Reference | None = None


@dataclass(frozen=True)
class Clause:
    """One atomic statement or question, analysed from the parse; independent of the conversation."""

    pieces: tuple[Piece, ...]
    mentions: tuple[Mention, ...]
    place: Mention | None              # where the subject now is ("went to the kitchen")
    is_question: bool

    @property
    def text(self) -> str:
        return "".join(p.typed for p in self.pieces).strip()

    @property
    def words(self) -> tuple[str, ...]:
        """Feature words as typed, pronouns unresolved."""
        return tuple(w for p in self.pieces for w in p.words)


@dataclass
class _Entity:
    mention: Mention
    seen: float
    subject: bool


@dataclass
class Discourse:
    """What a conversation has mentioned so far: the state pronouns are resolved against."""

    entities: dict[str, _Entity] = field(default_factory=dict)
    whereabouts: dict[str, Mention] = field(default_factory=dict)
    last_place: Mention | None = None
    clock: int = 0
    # each word of a person's full name ("grandma", "imelda") -> the entity key of the newest
    # full name holding it ("grandma_imelda"); derived from `entities`
    name_parts: dict[str, str] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self):
        for entity in sorted(self.entities.values(), key=lambda entity: entity.seen):
            self._index_name(entity.mention)

    def resolve(self, clause: Clause) -> tuple[str, tuple[str, ...]]:
        """Resolved text and feature words of `clause`; statements then update the state."""
        self.clock += 1
        clause = self._full_names(clause)
        found: dict[int, Mention | None] = {}
        for i, piece in enumerate(clause.pieces):
            if piece.ref is not None and piece.ref.agreement != "there":
                # an object pronoun is not its own clause's subject ("They like it": it is not they)
                subjects = () if piece.ref.subject or piece.ref.possessive else {m.key for m in _actors(clause, found)}
                found[i] = self._own_subject(clause, found, piece.ref) or self._antecedent(piece.ref, subjects)
        actors = _actors(clause, found)
        for i, piece in enumerate(clause.pieces):
            if piece.ref is not None and piece.ref.agreement == "there":
                found[i] = self._place_of(actors)
        text, words = _rewrite(clause.pieces, found)
        if not clause.is_question:
            self._observe(clause, found, actors)
        return text, words

    def _full_names(self, clause: Clause) -> Clause:
        """`clause` with each person it names by one word of a full name the conversation gave
        before ("Imelda" after "Grandma Imelda") written as that full name (the newest holding
        the word), so O and R see one entity, not two."""
        swap: dict[tuple[str, ...], Mention] = {}
        for mention in clause.mentions:
            key = self.name_parts.get(mention.key) if mention.kind == "person" and len(mention.words) == 1 else None
            if key is not None and key != mention.key:
                swap[mention.words] = replace(self.entities[key].mention, subject=mention.subject)
        if not swap:
            return clause
        pieces = tuple(Piece(swap[p.words].text + p.typed[len(p.typed.rstrip()):], swap[p.words].words, p.ref)
                       if p.words in swap else p for p in clause.pieces)
        mentions = tuple(swap.get(m.words, m) if m.kind == "person" else m for m in clause.mentions)
        return replace(clause, pieces=pieces, mentions=mentions)

    def _index_name(self, mention: Mention) -> None:
        if mention.kind == "person" and "_" in mention.key:
            for part in mention.key.split("_"):
                self.name_parts[part] = mention.key

    def mark(self) -> tuple[dict, dict]:
        """A cheap snapshot (shallow copies) for `to_json(since=...)`."""
        return dict(self.entities), dict(self.whereabouts)

    def to_json(self, since: tuple[dict, dict] | None = None) -> dict:
        """The state as JSON types, so a conversation's coreference can be stored with each turn.
        With `since` (a `mark()`), only the entities and whereabouts changed after it: a patch that,
        merged key by key into the earlier state's JSON, gives this state (entries are never removed)."""
        entities, whereabouts = since or ({}, {})
        return {"entities": {key: {"mention": asdict(e.mention), "seen": e.seen, "subject": e.subject}
                             for key, e in self.entities.items() if entities.get(key) is not e},
                "whereabouts": {key: asdict(m) for key, m in self.whereabouts.items() if whereabouts.get(key) is not m},
                "last_place": None if self.last_place is None else asdict(self.last_place), "clock": self.clock}

    @classmethod
    def from_json(cls, data: Mapping) -> "Discourse":
        """The state `to_json` wrote; KeyError or TypeError if `data` is not such a state."""
        return cls({key: _Entity(_mention(e["mention"]), float(e["seen"]), bool(e["subject"]))
                    for key, e in data["entities"].items()},
                   {key: _mention(m) for key, m in data["whereabouts"].items()},
                   None if data["last_place"] is None else _mention(data["last_place"]), int(data["clock"]))

    @staticmethod
    def _own_subject(clause: Clause, found: Mapping[int, Mention | None], ref: Reference) -> Mention | None:
        """A possessive's antecedent in its own clause: the subject, named or already resolved, when it
        agrees ("Tom left his keys": Tom's, whoever was mentioned before); never for a possessive of the
        subject's own noun phrase ("Her friend Tom went home": not Tom's friend, nor the friend's)."""
        if not ref.possessive or ref.of_subject:
            return None
        return next((m for m in _actors(clause, found) if _agreement_score(ref, m) is not None), None)

    def _antecedent(self, ref: Reference, excluded: Collection[str] = ()) -> Mention | None:
        """The entity `ref` means: agreement, recency, a subject preference; none whose key is `excluded`."""
        if ref.fallback is not None:
            return ref.fallback
        best, best_score = None, float("-inf")
        for entity in self.entities.values():
            score = None if entity.mention.key in excluded else _agreement_score(ref, entity.mention)
            if score is None:
                continue
            score += entity.seen + (SUBJECT_BONUS if entity.subject else 0.0) - (OBLIQUE_PENALTY if entity.mention.oblique else 0.0)
            if score > best_score:
                best, best_score = entity.mention, score
        if best is None and ref.agreement == "plural":
            return self._split_antecedent()
        return best

    def _split_antecedent(self) -> Mention | None:
        """'John went out. Mary went out. They ...': the last two people, when no group was named."""
        people = sorted((e for e in self.entities.values() if e.mention.kind == "person" and not e.mention.plural),
                        key=lambda e: e.seen)[-2:]
        if len(people) < 2:
            return None
        first, second = (e.mention for e in people)
        return Mention(f"{first.text} and {second.text}", (*first.words, "and", *second.words),
                       f"{first.key}+{second.key}", "person", None, True, True, (first.key, second.key))

    def _place_of(self, actors: Sequence[Mention]) -> Mention | None:
        for actor in actors:
            if actor.key in self.whereabouts:
                return self.whereabouts[actor.key]
        return self.last_place

    def _observe(self, clause: Clause, found: Mapping[int, Mention | None], actors: Sequence[Mention]) -> None:
        for position, mention in enumerate(clause.mentions):
            if mention.kind == "place":
                self.last_place = mention
            else:
                self.entities[mention.key] = _Entity(mention, self.clock + 0.01 * position, mention.subject)
                self._index_name(mention)
        for i, mention in found.items():
            ref = clause.pieces[i].ref
            if mention is None or ref.agreement == "there":
                continue
            self.entities[mention.key] = _Entity(mention, self.clock + 0.005, ref.subject)
        place = clause.place
        if place is None:
            place = next((m for i, m in found.items() if m is not None and clause.pieces[i].ref.motion), None)
        if place is not None:
            self.last_place = place
            for actor in actors:
                for key in (actor.key, *actor.members):
                    self.whereabouts[key] = place


def _actors(clause: Clause, found: Mapping[int, Mention | None]) -> list[Mention]:
    """The clause's subjects that are not places: those it names, then its pronouns resolved so far."""
    return ([m for m in clause.mentions if m.subject and m.kind != "place"]
            + [m for i, m in found.items() if m is not None and clause.pieces[i].ref.subject])


def _mention(data: Mapping) -> Mention:
    return Mention(**{**data, "words": tuple(data["words"]), "members": tuple(data["members"])})


def _agreement_score(ref: Reference, mention: Mention) -> float | None:
    """None if `mention` cannot be what `ref` means, else a bonus for how well it fits."""
    if ref.agreement in ("m", "f"):
        if mention.kind != "person" or mention.plural:
            return None
        if mention.gender is None:
            return 0.0
        return GENDER_BONUS if mention.gender == ref.agreement else None
    if ref.agreement == "plural":   # a group noun is "they" too: "The team won. They celebrated."
        return 0.0 if mention.plural or mention.key.split()[-1] in COLLECTIVE_NOUNS else None
    if ref.agreement == "it":
        if mention.kind == "person" or mention.plural:
            return None
        return -PLACE_PENALTY if mention.kind == "place" else 0.0
    return None


def _rewrite(pieces: Sequence[Piece], found: Mapping[int, Mention | None]) -> tuple[str, tuple[str, ...]]:
    text, words = [], []
    for i, piece in enumerate(pieces):
        mention = found.get(i)
        if mention is None:
            text.append(piece.typed)
            words.extend(piece.words)
            continue
        space = piece.typed[len(piece.typed.rstrip()):] if piece.typed else " "
        at_start = not "".join(p.typed for p in pieces[:i]).strip()
        if piece.ref.agreement == "there":
            preposition = "to" if piece.ref.motion else "in"
            name = f"{preposition} {mention.text}"
            words.extend((preposition, *mention.words))
        else:
            # "the kids' lunch boxes", "Mary's": a plural that ends in s takes the apostrophe alone
            owner = "'" if mention.plural and mention.text.endswith("s") else "'s"
            name = mention.text + (owner if piece.ref.possessive else "")
            # "Priya's brother Arjun went to the post office", "Mary's keys are in the hall": facts about
            # Arjun and the keys; the text names the owner, Φ does not, or O takes them for facts about
            # Priya ("Where is Priya?") and Mary (whose place then answers "Where are the keys?")
            if not (piece.ref.possessive and piece.ref.of_subject):
                words.extend(mention.words)
        text.append((name[:1].upper() + name[1:] if at_start else name) + space)
    return "".join(text).strip(), tuple(words)


if not Doc.has_extension("resolved"):
    Doc.set_extension("resolved", default=())


@Language.component("memnet_coref", requires=["doc._.clauses"], assigns=["doc._.resolved"])
def resolve_doc(doc: Doc) -> Doc:
    """For reuse in other pipelines (after ``memnet_clauses``): doc._.resolved holds each clause
    resolved within this doc alone. `SpacyInput` instead keeps one `Discourse` per conversation."""
    discourse = Discourse()
    doc._.resolved = tuple(discourse.resolve(clause)[0] for clause in doc._.clauses)
    return doc


# --- analysis of one clause's parse -----------------------------------------------------

def mention_of(head: Token, words: Mapping[int, str], start: int = 0, subject: bool | None = None) -> Mention:
    """The entity that the noun `head` names, with the words of its noun phrase (from `start` on);
    `subject` overrides the parse's say on whether it is a subject. A noun with a name in apposition
    ("my sister Kate", "our neighbour Mr Jones") names that person: a later "she" is Kate, the
    Kate of "Kate took the camera", not "my sister"."""
    name = apposed_name(head)
    if name is not None:
        mention = mention_of(name, words, start, _is_subject(head) if subject is None else subject)
        return replace(mention, gender=mention.gender or _noun_gender(head.lemma_.lower()), oblique=head.dep_ == "pobj")
    end = head.i + 2 if head.i + 1 < len(head.doc) and numbered_place(head.doc[head.i + 1]) else head.i + 1   # "room 12"
    span = head.doc[max(head.left_edge.i, start): end]
    lower = head.lower_
    lemma = head.lemma_.lower()
    gender = (name_gender(lower) or _noun_gender(lemma)
              or next((TITLES[t.lower_.rstrip(".")] for t in span if t.lower_.rstrip(".") in TITLES), None))
    if is_place(head):
        kind = "place"
    elif gender is not None or lemma in PERSON_NOUNS or head.pos_ == "PROPN":
        kind = "person"
    else:
        kind = "thing"
    text = span.text
    if span[0].pos_ == "DET" or span[0].tag_ == "PRP$":   # "the kids", "my friend" mid-sentence
        text = text[:1].lower() + text[1:]
    phrase_words = tuple(words[i] for i in range(span.start, span.end) if i in words)
    if span[0].lower_ in REFERRED_AS_THE and len(span) > 1:
        # named again, "a book" is "the book", and "his keys" "the keys": a pronoun in a resolved text
        # would mean someone else there ("Anna put his keys on the table")
        text = "the" + text[len(span[0].text):]
        phrase_words = ("the", *phrase_words[1:]) if span[0].i in words else phrase_words
    key = " ".join(words[t.i] for t in span if t.i in words and t.pos_ != "DET") or lower
    plural = head.tag_ in ("NNS", "NNPS")
    return Mention(text, phrase_words, key, kind, gender, plural, _is_subject(head) if subject is None else subject,
                   oblique=head.dep_ == "pobj")


def _noun_gender(lemma: str) -> str | None:
    """"m" for "brother", "f" for "sister", None for a noun of no gender."""
    return "m" if lemma in MALE_NOUNS else "f" if lemma in FEMALE_NOUNS else None


def numbered_place(number: Token) -> bool:
    """A number that names a place with the word before it: "to room 4", "in the room 4", "from platform
    9" (after a preposition or a determiner; the tagger may call "room" there a verb). Not "3 apples"."""
    if not number.text.isdigit() or number.i < 2:
        return False
    word, before = number.doc[number.i - 1], number.doc[number.i - 2]
    return word.is_alpha and (before.pos_ in ("ADP", "DET") or before.lower_ in PLACE_PREPOSITIONS)


def apposed_name(noun: Token) -> Token | None:
    """The name in apposition to a common noun ("Kate" in "my sister Kate"), if any."""
    if noun.pos_ != "NOUN":
        return None
    return next((c for c in noun.rights if c.dep_ == "appos" and c.pos_ == "PROPN"), None)


def group_of(head: Token, words: Mapping[int, str], start: int = 0,
             known: Mapping[int, Mention] | None = None) -> Mention | None:
    """'Daniel and Sandra' as one plural entity, which 'they' can refer to."""
    if head.dep_ == "conj" or not head.n_rights:
        return None
    conjuncts = [t for t in head.conjuncts if t.pos_ in ("NOUN", "PROPN") and t.i > head.i
                 and (known is None or t.i in known)]
    if not conjuncts:
        return None
    known = known or {}
    members = [known.get(t.i) or mention_of(t, words, start) for t in (head, *conjuncts)]
    span = head.doc[max(head.left_edge.i, start): conjuncts[-1].i + 1]
    kind = "person" if all(m.kind == "person" for m in members) else "thing"
    phrase_words = tuple(words[i] for i in range(span.start, span.end) if i in words)
    return Mention(span.text, phrase_words, "+".join(m.key for m in members), kind, None, True,
                   _is_subject(head), tuple(m.key for m in members))


def reference_of(token: Token) -> Reference | None:
    """The reference `token` makes, if it is a pronoun or a locative "there"."""
    lower = token.lower_
    if lower == "there":
        if token.dep_ != "advmod":
            return None
        verb = _governing_verb(token)
        return Reference("there", motion=verb is not None and verb.lemma_ in MOTION_VERBS and verb.lemma_ != "be")
    of_subject = token.tag_ == "PRP$" and token.head.dep_ in ("nsubj", "nsubjpass")   # not "Anna and her brother"
    if lower == "her":
        return Reference("f", possessive=token.tag_ == "PRP$", of_subject=of_subject)
    if lower not in PRONOUNS or token.dep_ == "expl" or (lower == "it" and _weather(token)):
        return None
    agreement, possessive = PRONOUNS[lower]
    return Reference(agreement, possessive=possessive, subject=token.dep_ in ("nsubj", "nsubjpass"), of_subject=of_subject)


def clause_place(verb: Token, mentions: Sequence[tuple[Token, Mention]]) -> Mention | None:
    """The place the subject of `verb` is at afterwards, if `verb` is a move or "be in"."""
    if verb.lemma_ not in MOTION_VERBS:
        return None
    for token, mention in mentions:
        if mention.kind == "place" and _governing_verb(token) == verb:
            return mention
    return None


def is_place(noun: Token) -> bool:
    prep = noun.head
    return noun.dep_ == "pobj" and prep.lower_ in PLACE_PREPOSITIONS and _governing_verb(prep) is not None \
        and noun.lower_ not in NAMES


def _is_subject(token: Token) -> bool:
    while token.dep_ == "conj":
        token = token.head
    return token.dep_ in ("nsubj", "nsubjpass")


def _governing_verb(token: Token) -> Token | None:
    for ancestor in token.ancestors:
        if ancestor.pos_ in ("VERB", "AUX"):
            return ancestor
        if ancestor.pos_ in ("NOUN", "PROPN", "PRON"):
            return None
    return None


def _weather(it: Token) -> bool:
    """'It is raining', 'it is late': no antecedent."""
    verb = it.head
    return verb.lemma_ in ("rain", "snow") or any(c.dep_ == "acomp" and c.lemma_ in ("late", "early", "dark", "cold", "hot", "sunny") for c in verb.children)
