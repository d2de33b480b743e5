"""The front of I: normalise text, split long text into parser-sized pieces, never drop any.

Every I (the spaCy I and `SimpleInput`) reads a message through `prepare`, and so does the app,
so a paste is cut the same way everywhere:

- `normalise` cleans the text (straight quotes, no emoji or control characters, no HTML
  markup from a pasted page: its tags go, its entities are read) and keeps line breaks where they end a statement: "John went to the kitchen⏎Mary went to the
  garden" is two statements, "John went to⏎the kitchen." (a wrapped line) is one.
- `prepare` splits the text into units (sentences, in sentence case if shouted; one line
  without a full stop is one; a sentence longer than a parser piece is cut at spaces) and
  names each unit it will not read and why (`Skipped`): no words, a "word" too long to be
  one, or not English.
- `Prepared.pieces` packs the units it keeps into pieces of at most `MAX_CHARS` for the parser;
  `Prepared.chunks` groups all units into texts of a given number of sentences, so a long paste
  can be read in steps with progress between them.

Nothing is cut off or lost without a `Skipped` saying so. Importing this module does not import spaCy.
"""
from __future__ import annotations

import functools
import html.parser
import re
import unicodedata
from dataclasses import dataclass
from typing import NamedTuple

MAX_CHARS = 10_000      # characters per parser piece; longer text is read in several pieces
MAX_WORD = 200          # characters; a longer run without spaces is no word (URLs fit)
FOREIGN_WORDS = frozenset("""
le la les est et une des du dans sont der die das und ist nicht ein eine el los las es y que en por una
il che di della sono não uma com para fue está del è
""".split())
NO_WORDS = "no words I can read"
_QUOTES = str.maketrans({"‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "“": '"', "”": '"', "„": '"',
                         "‟": '"', "″": '"', "«": '"', "»": '"', "–": " - ", "—": " - ", "…": "..."})
_SPACES = re.compile(r"[^\S\n]+")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
# control characters (Cc) that are not whitespace, and lone surrogates (Cs): deleted by strip_controls
_CONTROLS = {c: None for c in [*range(0x20), *range(0x7f, 0xa0), *range(0xd800, 0xe000)] if not chr(c).isspace()}
_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"')\]]))\s+")  # after ".", "!", "?" (and a closing quote)
_STATEMENT_END = ".!?;:"
_ENDED = re.compile(r"[.!?][\"')\]]?$")   # a text that ends a sentence
_LONG_WORD = re.compile(rf"(\S{{{MAX_WORD + 1},}})")   # kept by re.split, so the word becomes a unit
_MARKUP = re.compile(r"<[A-Za-z/!]|&#?\w+;")   # a tag, a comment or an entity: the text may be HTML
# HTML's elements (the living standard's, and a few old ones): those that end a line of text where they
# stand, and those that sit inside a line; any other "<word>" is text the user typed, kept as written
_BLOCK_TAGS = frozenset("address article aside blockquote br caption dd details dialog div dl dt fieldset figcaption "
                        "figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr legend li main menu nav ol p pre "
                        "search section summary table tbody td tfoot th thead tr ul".split())
_INLINE_TAGS = frozenset("a abbr area audio b base bdi bdo big body button canvas center cite code col colgroup data "
                         "datalist del dfn em embed font head html i iframe img input ins kbd label link map mark math "
                         "meta meter noscript object optgroup option output param picture progress q rp rt ruby s samp "
                         "script select slot small source span strike strong style sub sup svg template textarea time "
                         "title track tt u var video wbr".split())
_HIDDEN_TAGS = ("script", "style", "template")   # their content is code, not text


class Skipped(NamedTuple):
    """Text that was not stored, and why (shown to the user as is)."""

    text: str
    reason: str

    def to_json(self) -> dict:
        return {"text": self.text, "reason": self.reason}


# --- normalisation ---------------------------------------------------------------------

def strip_controls(text: str | None) -> tuple[str, int]:
    """`text` without control characters or lone surrogates (line breaks and tabs kept) nor spaces
    at either end, and how many characters went: a message as typed, safe to store and show."""
    text = text or ""
    kept = text.translate(_CONTROLS)
    return kept.strip(), len(text) - len(kept)


class _PlainText(html.parser.HTMLParser):
    """The text of HTML: tags dropped (a block tag ends a line), entities read ("&amp;" is "&"),
    scripts and styles left out. Text that only looks like a tag ("x < y") stays as written."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0   # inside <script>, <style> or <template>

    def handle_starttag(self, tag, attrs):
        self.hidden += tag in _HIDDEN_TAGS
        self.parts.append(self._tag(tag, self.get_starttag_text()))

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        self.hidden -= tag in _HIDDEN_TAGS and self.hidden > 0
        self.parts.append(self._tag(tag, f"</{tag}>"))

    @staticmethod
    def _tag(tag: str, written: str) -> str:
        return "\n" if tag in _BLOCK_TAGS else "" if tag in _INLINE_TAGS else written

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)

    @classmethod
    def of(cls, text: str) -> str:
        parser = cls()
        parser.feed(text)
        parser.close()
        return "".join(parser.parts)


def normalise(text: object) -> str:
    """Clean text a parser can read: straight quotes, no emoji or control characters, no HTML
    markup (`_PlainText`), one space between words, and a line break ("\\n") only where a line
    ends a statement."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    text, _ = strip_controls("" if text is None else str(text))
    if _MARKUP.search(text):   # a paste from a web page: "<b>John</b>" would store the word "john</b"
        text = _PlainText.of(text)
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    text = _NON_ASCII.sub(lambda m: " " if _is_noise(m.group()) else m.group(), text).replace("^", " ").replace("`", " ")
    lines: list[str] = []
    for line in text.splitlines():
        line = _SPACES.sub(" ", line).strip()
        if not line:
            continue
        if lines and lines[-1][-1] not in _STATEMENT_END and line[0].islower():
            lines[-1] += " " + line  # a wrapped line: the statement goes on
        else:
            lines.append(line)
    return "\n".join(lines)


def calm(sentence: str) -> str:
    """A sentence in capitals ("JOHN WENT HOME.") in sentence case: shouting parses badly."""
    if sentence.isupper() and sum(c.isalpha() for c in sentence) > 3:
        lower = sentence.lower()
        first = next(i for i, c in enumerate(lower) if c.isalpha())
        return lower[:first] + lower[first].upper() + lower[first + 1:]
    return sentence


@functools.lru_cache(maxsize=4096)
def _is_noise(c: str) -> bool:
    """Emoji, symbols and invisible format characters (ASCII's are "^" and "`")."""
    if c.isspace():
        return False
    category = unicodedata.category(c)
    return category[0] == "C" or category in ("So", "Sk") or c in "\ufe0f\u200d"


def is_english(text: str) -> bool:
    """Cheap script and function-word test: refuses French, German, Chinese or Russian, and errs
    towards English, since refusing an English statement would lose a memory. A capitalised word
    after the first is a name ("Les went to La Paz."), not a word of another language."""
    if not text.isascii():
        letters = [c for c in text if c.isalpha()]
        if letters and sum(c > "\u024f" for c in letters) > len(letters) / 2:
            return False
    words = re.findall(r"[^\W\d_]+", text)
    words = [w.lower() for i, w in enumerate(words) if i == 0 or not w[0].isupper()]
    english = sum(w in _english_words() for w in words)
    foreign = sum(w in FOREIGN_WORDS for w in words)
    return not (foreign >= 2 and foreign > english)


@functools.cache
def _english_words() -> frozenset[str]:
    from spacy.lang.en.stop_words import STOP_WORDS  # imports spaCy (seconds): only once text is read

    return frozenset(STOP_WORDS)


def refusal(sentence: str) -> str | None:
    """Why I will not read this sentence (a reason for the user), or None when it can be read."""
    if not any(c.isalnum() for c in sentence):
        return NO_WORDS
    longest = max(sentence.split(), key=len)
    if len(longest) > MAX_WORD:
        return f"a word of {len(longest):,} characters (the longest I read is {MAX_WORD})"
    if not is_english(sentence):
        return "not English: memnet only reads English"
    return None


# --- splitting ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Unit:
    """One sentence (or a part of one too long for a parser piece) of a normalised text."""

    text: str
    line: int                   # which line of the normalised text it is on
    reason: str | None = None   # why it is not read; None: it is read


@dataclass(frozen=True)
class Prepared:
    """A message split into units, in order; the refused ones carry their reason."""

    units: tuple[Unit, ...]

    @property
    def skipped(self) -> list[Skipped]:
        return [Skipped(u.text, u.reason) for u in self.units if u.reason]

    def pieces(self, max_chars: int = MAX_CHARS) -> list[str]:
        """The units that are read, packed into pieces of at most `max_chars` for the parser.
        A piece never spans two lines (a line break ends a statement the parser cannot see) and
        goes on after a unit only if that unit ends a sentence (the text before a refused
        over-long word does not: glued to the next unit it would read as one statement)."""
        pieces: list[str] = []
        line = None
        for unit in self.units:
            if unit.reason:
                continue
            if unit.line == line and _ENDED.search(pieces[-1]) and len(pieces[-1]) + 1 + len(unit.text) <= max_chars:
                pieces[-1] += " " + unit.text
            else:
                pieces.append(unit.text)
            line = unit.line
        return pieces

    def chunks(self, size: int) -> list[str]:
        """All units (refused ones too, so they are named again) in texts of `size` units each;
        `prepare` gives each text back as the same units."""
        out = []
        for first in range(0, len(self.units), size):
            text = ""
            for i, unit in enumerate(self.units[first:first + size]):
                if i:
                    text += " " if unit.line == self.units[first + i - 1].line else "\n"
                text += unit.text
            out.append(text)
        return out


def prepare(text: object, max_chars: int = MAX_CHARS) -> Prepared:
    """`text` normalised and split into units of at most `max_chars`, each refused one with its reason.

    A unit is a sentence (split after ".", "!" or "?") or a line without one; a "word" longer than
    MAX_WORD is a unit of its own (refused: the text around it is still read); a sentence longer
    than `max_chars` is cut at spaces into parts. Refusals are judged per sentence, so one
    foreign or garbled sentence in a paste costs only itself.
    """
    units: list[Unit] = []
    for number, line in enumerate(normalise(text).split("\n")):
        for whole in _SENTENCE_END.split(line):
            # a "word" too long to be one is a unit of its own: refused alone, the text around it is read
            for sentence in filter(None, (part.strip() for part in _LONG_WORD.split(whole))):
                sentence = calm(sentence)
                reason = refusal(sentence)
                if reason or len(sentence) <= max_chars:
                    units.append(Unit(sentence, number, reason))
                else:   # each part is calmed and judged on its own, as it will be when its chunk is prepared again
                    units += [Unit(part, number, refusal(part)) for part in map(calm, _cut(sentence, max_chars))]
    return Prepared(tuple(units))


def _cut(sentence: str, max_chars: int) -> list[str]:
    """A sentence in parts of at most `max_chars`, cut at spaces (no word is longer than MAX_WORD)."""
    parts: list[str] = []
    for word in sentence.split(" "):
        if parts and len(parts[-1]) + 1 + len(word) <= max_chars:
            parts[-1] += " " + word
        else:
            parts.append(word)
    return parts
