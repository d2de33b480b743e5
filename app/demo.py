"""The handlers of the demo features: the story player, two models side by side, why O scored a
slot as it did, the memory table's pages, and the conversation as one downloadable HTML page.

Plain functions of plain values, like `app.handlers` (tests call them without a server); the
player plays each line through the same chat turn as typed text, so what it stores is committed
and shown exactly as a chat message would be.
"""
from __future__ import annotations

import tempfile
import weakref
from collections.abc import Iterator
from pathlib import Path

import gradio as gr

from app import handlers, player, render
from app.handlers import Context, _browser_key, _clear
from app.player import Play
from app.sessions import Session
from memnet import Answer, Memory
from memnet.network import Recall

SOURCES = ("bundled story", "upload a bAbI file", "simulated world")
TIMER_OFF = dict(active=False)


def _stopped() -> tuple:
    """The last outputs of a player event that stops it: timer, side-by-side view, playing, button label."""
    return gr.Timer(**TIMER_OFF), render.side_by_side([]), False, "Play"


# ---- the story player -----------------------------------------------------------------------
def stories(ctx: Context) -> dict[str, Path]:
    """The bundled stories: bAbI-format ones with answers (assets/stories), then the plain examples."""
    return player.bundled(ctx.examples.parent / "stories", ctx.examples)


def open_story(ctx: Context, source: str, name: str | None, upload: str | None, number: int | float | None,
               seed: int | float | None, setting: str, difficulty: int | float) -> Play:
    """The story the player's controls name. Raises ValueError (or a BabiFormatError naming the line)."""
    if source == SOURCES[1]:
        if not upload:
            raise ValueError("upload a bAbI-format file first (lines '1 Mary went to the kitchen.', "
                             "questions '4 Where is Mary?<TAB>kitchen<TAB>1')")
        if Path(upload).stat().st_size > handlers.MAX_IMPORT_BYTES:
            raise ValueError(f"the file is larger than {handlers.MAX_IMPORT_BYTES // 1_000_000} MB")
        return player.read_file(upload, int(number or 1), Path(upload).name)
    if source == SOURCES[2]:
        return player.simulate(int(seed or 0), setting, int(difficulty))
    found = stories(ctx)
    if name not in found:
        raise ValueError(f"no bundled story called {name!r}")
    return player.read_file(found[name], int(number or 1), name)


def on_load_story(ctx: Context, key: str | None, source: str, name: str | None, upload: str | None,
                  number: float | None, seed: float | None, setting: str, difficulty: float, word: str) -> tuple:
    """Load a story into the player and start from an empty memory (a story is its own memory).
    Outputs as `on_step`'s (the player stopped, the side-by-side view emptied)."""
    key = _browser_key(key)
    try:
        play = open_story(ctx, source, name, upload, number, seed, setting, difficulty)
    except (ValueError, OSError, UnicodeDecodeError) as error:
        session = ctx.sessions.get(key)
        return (None, render.player_panel(None, f"Could not load that story: {error}"), session.chat,
                *handlers.panel(session, word), key, *_stopped())
    return _start(ctx, key, play, word)


def on_reset(ctx: Context, key: str | None, play: Play | None, word: str) -> tuple:
    """The story from its first line again, on an empty memory. Outputs as `on_load_story`."""
    key = _browser_key(key)
    if play is None:
        session = ctx.sessions.get(key)
        return None, render.player_panel(None), session.chat, *handlers.panel(session, word), key, *_stopped()
    return _start(ctx, key, play.restart(), word)


def _start(ctx: Context, key: str, play: Play, word: str) -> tuple:
    _clear(ctx, key)
    session = ctx.sessions.get(key)
    return play, render.player_panel(play), session.chat, *handlers.panel(session, word), key, *_stopped()


def step(ctx: Context, key: str, play: Play, hops: int | None, other: tuple[str, int] | None = None) -> Play:
    """Play the next line through the chat turn: a statement is stored (its slots recorded), a
    question answered and checked against the story's answer; `other` = (model label, hops) also
    asks the second model of the side-by-side view."""
    line = play.next_step
    if line is None:
        return play
    session = ctx.sessions.get(key)
    clock, before = session.net.memory_store.clock, session.last_answer
    for _ in handlers.chat_turn(ctx, key, line.text, hops):
        pass
    session = ctx.sessions.get(key)
    if not line.is_question:
        player.stored(play, [s.index for s in session.net.memory if s.time >= clock])
        return play
    answer = session.last_answer if session.last_answer is not before else None
    theirs = other_answer(ctx, session, *other, answer.question) if other and answer else None
    player.answered(play, answer.answer if answer else "", answer.supports if answer else [],
                    None if theirs is None else theirs.answer, theirs.supports if theirs else None)
    return play


def on_step(ctx: Context, key: str | None, play: Play | None, hops: float, word: str, comparing: bool,
            other: str | None, other_hops: float) -> tuple:
    """One step of the player (the Step button, or a tick of the Play timer). Outputs: play, player
    panel, chatbot, panel…, key, timer, sides, playing, play button (stopped at the end of the story)."""
    key = _browser_key(key)
    if play is not None and not play.done:
        step(ctx, key, play, int(hops), (other, int(other_hops)) if comparing and other else None)
    session = ctx.sessions.get(key)
    table, chart, ranking = handlers.panel(session, word)
    if play is not None and play.last_slots:
        table = render.memory_table(session.net.memory, session.last_answer, word, new=play.last_slots)
    over = play is None or play.done
    return (play, render.player_panel(play), session.chat, table, chart, ranking, key,
            gr.Timer(**TIMER_OFF) if over else gr.skip(), sides(ctx, key, comparing, other, other_hops, hops, play),
            *((False, "Play") if over else (gr.skip(), gr.skip())))


def on_play(playing: bool, play: Play | None, speed: float) -> tuple:
    """Play/Pause: start or stop the timer that steps the story every `speed` seconds.
    Outputs: playing, button label, timer."""
    playing = not playing and play is not None and not play.done
    return playing, "Pause" if playing else "Play", gr.Timer(float(speed), active=playing)


# ---- side by side ---------------------------------------------------------------------------
def on_turn(ctx: Context, message: str, key: str | None, hops: float, word: str, comparing: bool,
            other: str | None, other_hops: float) -> Iterator[tuple]:
    """`handlers.on_message`, with the side-by-side view in its last output (in the same event, so
    nothing is left in flight once the turn shows). Outputs: those of on_message, then sides."""
    last = None
    for outputs in handlers.on_message(ctx, message, key, hops, word):
        if last is not None:
            yield *last, gr.skip()
        last = outputs
    yield *last, sides(ctx, last[-1], comparing, other, other_hops, hops, None)


def sides(ctx: Context, key: str | None, comparing: bool, other: str | None, other_hops: float, hops: float,
          play: Play | None):
    """The side-by-side view when comparing; else nothing to redraw."""
    return on_compare(ctx, key, comparing, other, other_hops, hops, play) if comparing else gr.skip()


_recalls: "weakref.WeakKeyDictionary[Memory, dict[str, Recall]]" = weakref.WeakKeyDictionary()


def other_answer(ctx: Context, session: Session, label: str, hops: int | None, question: str) -> Answer | None:
    """The answer of model `label` with `hops` hops over this conversation's memory (O's slot
    vectors for it kept with the memory, so a turn costs what a chat question costs)."""
    model = ctx.catalogue.open(label).model
    recalls = _recalls.setdefault(session.net.memory_store, {})
    recall = recalls.get(label)
    if recall is None or recall.model is not model:
        recall = recalls[label] = Recall(model, session.net.memory_store)
    sentences = session.net.peek(question)
    if not sentences or not sentences[0].tokens or not len(session.net.memory_store):
        return None
    answer = recall.ask(sentences[0].tokens, sentences[0].resolved, int(hops) if hops else None, touch=False)
    answer.question = question
    return answer


def on_compare(ctx: Context, key: str | None, comparing: bool, other: str | None, other_hops: float,
               hops: float, play: Play | None) -> str:
    """The side-by-side view of the last question: this conversation's model (A) and `other` (B)."""
    if not comparing:
        return '<p class="note">Tick “compare” to answer every question with a second model too.</p>'
    session = ctx.sessions.get(_browser_key(key))
    answer = session.last_answer
    theirs = other_answer(ctx, session, other, int(other_hops), answer.question) if answer and other else None
    label = ctx.catalogue.label_of(other)
    accuracy = [play.accuracy(), play.accuracy(other=True)] if play and any(o.other is not None for o in play.outcomes) else None
    return render.side_by_side([(session.model, session.net.model.config, int(hops), answer),
                                (label, ctx.catalogue.open(label).model.config, int(other_hops), theirs)],
                               session.net.memory_store.resolved, accuracy)


def on_other(ctx: Context, key: str | None, comparing: bool, other: str | None, hops: float,
             play: Play | None) -> tuple:
    """Model B picked: its hops slider set to B's own k (config.hops, within the slider's range),
    so the two columns differ in the model only. Outputs: hops for B, sides."""
    other_hops = min(ctx.catalogue.open(ctx.catalogue.label_of(other)).model.config.hops, handlers.max_hops(ctx))
    return other_hops, sides(ctx, key, comparing, other, other_hops, hops, play)


# ---- why this slot --------------------------------------------------------------------------
def why(session: Session, slot: int, focus: int | None = None) -> str:
    """Why O scored `slot` as it did at each hop of the last answer, and R's top answers in parts."""
    answer = session.last_answer
    found = next((s for s in session.net.memory if s.index == slot), None)
    if answer is None or found is None or not answer.hops:
        return render.why_panel(found, [], [])
    try:
        whys, parts = session.net.explain(answer, slot)
    except (KeyError, IndexError):   # a slot the answer used was undone or overwritten since
        return '<p class="note">The memory changed since this answer: ask the question again to see why.</p>'
    if not whys:
        return render.why_panel(found, [], []) + '<p class="note">O did not score this slot for the last question.</p>'
    return render.why_panel(found, whys, parts, focus)


def select_slot(ctx: Context, key: str | None, word: str, slot: int, hop: int | None = None) -> tuple:
    """A click on a slot's row or bar: the why view, and the table at the page that shows the slot
    (the filter cleared when it hides the slot). Outputs: table, why, filter."""
    session = ctx.sessions.get(_browser_key(key))
    back = render.pages_back(session.net.memory, word, slot)
    if back is None:
        word, back = "", render.pages_back(session.net.memory, "", slot) or 0
    table = render.memory_table(session.net.memory, session.last_answer, word, back, selected=slot)
    return table, why(session, slot, hop), word


def on_select(ctx: Context, key: str | None, word: str, evt: gr.EventData) -> tuple:
    """The table's or chart's select event: {page} from a page button (`on_page`), or {slot, hop}
    from a row or bar (`select_slot`). Outputs: table, why, filter."""
    data = getattr(evt, "_data", None) or {}
    try:
        if data.get("page") not in (None, ""):
            return on_page(ctx, key, word, int(data["page"])), gr.skip(), gr.skip()
        slot = int(data.get("slot"))
    except (TypeError, ValueError):
        return gr.skip(), gr.skip(), gr.skip()
    hop = data.get("hop")
    return select_slot(ctx, key, word, slot, int(hop) if str(hop or "").isdigit() else None)


# ---- the memory table's pages, the download -----------------------------------------------------
def on_page(ctx: Context, key: str | None, word: str, back: int) -> str:
    """The memory table's page `back` (0: the newest, clamped to the oldest). Output: table."""
    session = ctx.sessions.get(_browser_key(key))
    return render.memory_table(session.net.memory, session.last_answer, word, back)


def conversation_file(ctx: Context, key: str | None) -> str:
    """The conversation as one self-contained HTML file (in a folder only the owner can read)."""
    key = _browser_key(key)
    session = ctx.sessions.get(key)
    answers = [Answer.from_json(a) for a in ctx.store.answers(key)]
    page = render.conversation_page("memnet conversation", session.net.memory, session.chat, answers)
    path = Path(tempfile.mkdtemp(prefix="memnet-download-")) / "memnet-conversation.html"
    path.write_text(page, encoding="utf-8")
    return str(path)


def on_speed(playing: bool, speed: float):
    """A new speed while playing takes effect at once. Output: timer."""
    return gr.Timer(float(speed), active=bool(playing))
