"""The functions behind every UI event and API endpoint.

They take plain values and a `Session`, and return plain values (or component updates),
so tests call them directly, without a server or a browser. A turn changes the memory,
is committed to the store, and only then is acknowledged.
"""
from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from app import render
from app.sessions import Catalogue, Session, Store
from memnet import Answered, Memory, MemoryNetwork, Skipped, Stored
from memnet.input.clean import prepare, strip_controls
from memnet.memory.slots import MemoryFormatError

MAX_CHARS = 1_000_000       # a longer paste is refused whole, with a message
MAX_IMPORT_BYTES = 50_000_000
CHUNK = 200                 # sentences read per step of a long paste, between progress updates


@dataclass(frozen=True)
class Context:
    """What every session shares: the store, the models on offer, the example stories."""

    store: Store
    catalogue: Catalogue
    examples: Path


def _writes(events: list[Stored | Answered | Skipped]) -> int:
    """How many memory writes (each one undo step) a chat turn's `respond` events made."""
    return sum(1 for e in events if isinstance(e, Stored) and e.slots)


def _merge_writes(events: list[Stored | Answered]) -> list[Stored | Answered]:
    """Adjacent runs of slots (a long paste is written chunk by chunk) as one, for the reply."""
    merged: list[Stored | Answered] = []
    for event in events:
        if isinstance(event, Stored) and merged and isinstance(merged[-1], Stored):
            merged[-1] = Stored(merged[-1].slots + event.slots)
        else:
            merged.append(event)
    return merged


def open_session(ctx: Context, key: str | None) -> Session:
    return ctx.store.open(key, ctx.catalogue)


def _session(ctx: Context, session: Session | None) -> Session:
    """API clients start with an empty gr.State: give them a memory of their own."""
    return session if session is not None else open_session(ctx, None)


def _commit(ctx: Context, session: Session, said: str, reply: str, writes: int) -> None:
    """Record the turn and save it; if saving fails, take the turn's memory writes back and re-raise."""
    session.chat += [{"role": "user", "content": render.user_message(said)}, {"role": "assistant", "content": reply}]
    session.turns.append(writes)
    try:
        ctx.store.save(session)
    except Exception:
        del session.chat[-2:]
        session.turns.pop()
        for _ in range(writes):
            session.net.undo()
        raise


def _refusal(text: str, removed: int) -> str | None:
    """Why a message cannot be taken, or None when it can."""
    if len(text) > MAX_CHARS:
        return f"That message is {len(text):,} characters long; the limit is {MAX_CHARS:,}. Nothing was stored: please split it."
    if not text:
        return "That message was empty" + (f" once {removed} control characters were removed" if removed else "") + ": nothing was stored."
    return None


# ---- the chat turn -------------------------------------------------------------------
def chat_turn(ctx: Context, session: Session, message: str, hops: int | None) -> Iterator[str]:
    """One chat message: statements stored, questions answered. Yields the reply as it grows
    (progress first for a long paste); the turn is committed before any acknowledgement."""
    text, removed = strip_controls(message)
    refusal = _refusal(text, removed)
    try:
        session.net.check_hops(hops)
    except ValueError as error:
        refusal = refusal or f"{error}. Nothing was stored."
    if refusal:
        _commit(ctx, session, text, refusal, 0)
        yield refusal
        return
    prepared = prepare(text)
    chunks = prepared.chunks(CHUNK)
    results: list = []
    try:
        for done, chunk in enumerate(chunks):
            if len(chunks) > 1:
                yield f"Reading your message… {done * CHUNK:,} of {len(prepared.units):,} sentences"
            results += session.net.respond(chunk, hops)
    except BaseException:  # failed, or abandoned part-way (the browser left): keep no half-told message
        for _ in range(_writes(results)):
            session.net.undo()
        raise
    writes = _writes(results)
    skipped = [e for e in results if isinstance(e, Skipped)]
    results = _merge_writes([e for e in results if not isinstance(e, Skipped)])
    answers = [e.answer for e in results if isinstance(e, Answered)]
    if answers:
        session.last_answer = answers[-1]
    replies = list(render.turn_reply(results, removed, skipped))
    _commit(ctx, session, text, replies[-1], writes)
    yield from replies


# ---- API endpoints: JSON-friendly in and out ----------------------------------------------
def tell(ctx: Context, text: str, session: Session | None) -> tuple[dict, Session]:
    """Store the statements in `text`; returns {"slots": the slots written, "skipped": [{"text", "reason"}]
    for each part of the text that was not stored}."""
    session = _session(ctx, session)
    with session.lock:
        text, removed = strip_controls(text)
        refusal = _refusal(text, removed)
        if refusal:
            raise gr.Error(refusal)
        told = session.net.tell(text)
        _commit(ctx, session, text, render.told_reply(told, told.skipped), 1 if told else 0)
    return told.to_json(), session


def ask(ctx: Context, question: str, session: Session | None) -> tuple[dict, Session]:
    """Answer from memory: the answer, its supporting slots in hop order with scores, R's runner-ups."""
    session = _session(ctx, session)
    with session.lock:
        question, _ = strip_controls(question)
        answer = session.net.ask(question, session.hops)
        session.last_answer = answer
        _commit(ctx, session, question, list(render.answer_reply(answer))[-1], 0)
    return answer.to_json(), session


def memory(ctx: Context, session: Session | None) -> tuple[list[dict], Session]:
    """Every slot, in write order."""
    session = _session(ctx, session)
    return [slot.to_json() for slot in session.net.memory], session


def clear(ctx: Context, session: Session | None) -> tuple[dict, Session]:
    """Forget everything this session stored, and the conversation with it."""
    session = _session(ctx, session)
    with session.lock:
        forgotten = len(session.net.memory)
        session.net.clear()
        session.chat, session.turns, session.last_answer = [], [], None
        ctx.store.save(session)
    return {"cleared": forgotten}, session


# ---- UI events: component values out ------------------------------------------------------
def panel(session: Session, word: str = "") -> tuple:
    """The memory panel: the slot table, O's per-hop chart, R's runner-ups."""
    answer = session.last_answer
    return render.memory_table(session.net.memory, answer, word), render.hop_chart(answer), render.ranking_table(answer)


def on_filter(session: Session | None, word: str) -> str:
    return render.memory_table(session.net.memory if session else [], session.last_answer if session else None, word)


def max_hops(ctx: Context) -> int:
    """The hops slider's maximum: what the default model can run."""
    return ctx.catalogue.open(None).model.max_hops


def on_load(ctx: Context, key: str | None, word: str) -> tuple:
    """A page (re)load: the browser's session back from the store, or a new one."""
    session = open_session(ctx, key)
    hops = session.hops or session.net.model.config.hops
    return (session, session.key, session.chat, hops, session.model, *panel(session, word))


def on_message(ctx: Context, message: str, session: Session | None, hops: int, word: str) -> Iterator[tuple]:
    """Outputs: chatbot, textbox, memory table, chart, runner-ups, session."""
    session = _session(ctx, session)
    with session.lock:
        session.hops = int(hops)
        earlier = list(session.chat)
        pending = [{"role": "user", "content": render.user_message(strip_controls(message)[0])}]
        for reply in chat_turn(ctx, session, message, session.hops):
            yield earlier + pending + [{"role": "assistant", "content": reply}], "", gr.skip(), gr.skip(), gr.skip(), session
        yield session.chat, "", *panel(session, word), session


def on_undo(ctx: Context, session: Session, word: str) -> tuple:
    """Take back the memory writes of the last turn that made any. Outputs: chatbot, panel…, session."""
    with session.lock:
        while session.turns and session.turns[-1] == 0:
            session.turns.pop()
        removed = [slot for _ in range(session.turns.pop() if session.turns else 0) for slot in session.net.undo()]
        if removed:
            session.last_answer = None
            slots = sorted(slot.index for slot in removed)
            note = f"Undone: forgot {len(slots)} slot{'s' if len(slots) > 1 else ''} ({slots[0]}–{slots[-1]})."
        else:
            note = "Nothing to undo."
        session.chat.append({"role": "assistant", "content": note})
        ctx.store.save(session)
    return session.chat, *panel(session, word), session


def on_clear(ctx: Context, session: Session, word: str) -> tuple:
    _, session = clear(ctx, session)
    return session.chat, *panel(session, word), session


def on_export(session: Session) -> str:
    """The memory as a JSON file, for the download component."""
    folder = Path(tempfile.mkdtemp(prefix="memnet-export-"))
    path = folder / "memnet-memory.json"
    path.write_text(json.dumps(session.net.memory_store.to_json(), indent=1))
    return str(path)


def read_memory_file(path: str | Path) -> Memory:
    """A memory from an export file, or MemoryFormatError saying what is wrong with it."""
    path = Path(path)
    if path.stat().st_size > MAX_IMPORT_BYTES:
        raise MemoryFormatError(f"the file is larger than {MAX_IMPORT_BYTES // 1_000_000} MB")
    try:
        return Memory.from_json(json.loads(path.read_text(encoding="utf-8")))
    except UnicodeDecodeError:
        raise MemoryFormatError("the file is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise MemoryFormatError(f"the file is not valid JSON ({error})") from None
    except (TypeError, ValueError) as error:  # MemoryFormatError is a ValueError
        raise MemoryFormatError(str(error)) from None


def on_import(ctx: Context, path: str | None, session: Session, word: str) -> tuple:
    """Replace the memory with an exported one; a bad file changes nothing. Outputs: status, chatbot, panel…, session."""
    if not path:
        return "No file was uploaded.", session.chat, *panel(session, word), session
    try:
        imported = read_memory_file(path)
    except MemoryFormatError as error:
        return f"Could not import {Path(path).name}: {error}. Your memory is unchanged.", session.chat, *panel(session, word), session
    with session.lock:
        session.net = MemoryNetwork(session.net.model, memory=imported, input_map=session.net.input_map)
        session.turns, session.last_answer = [], None
        status = f"Imported {len(imported)} slots from {Path(path).name}."
        session.chat.append({"role": "assistant", "content": render.user_message(status)})
        ctx.store.save(session)
    return status, session.chat, *panel(session, word), session


def on_model(ctx: Context, label: str, session: Session) -> tuple[str, int, Session]:
    """Answer with another checkpoint from now on; the memory stays. Outputs: status, hops, session."""
    with session.lock:
        fresh = ctx.catalogue.open(label)
        session.net = MemoryNetwork(fresh.model, memory=session.net.memory_store, input_map=fresh.input_map)
        session.model, session.hops = ctx.catalogue.label_of(label), None
        ctx.store.save(session)
    return f"Model: {session.model}", session.net.model.config.hops, session


def examples(ctx: Context) -> list[Path]:
    return sorted(ctx.examples.glob("*.txt"))


def example_text(path: Path) -> str:
    return path.read_text(encoding="utf-8")
