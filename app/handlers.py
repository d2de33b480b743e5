"""The functions behind every UI event and API endpoint.

They take plain values (a session key, text) and return plain values (or component updates),
so tests call them directly, without a server or a browser. A turn changes the memory, is
appended to the store in one transaction, and only then is acknowledged; if the store refuses
it (disk full, another process was first) the memory is re-read from the store, so what a
session holds is always what is committed.
"""
from __future__ import annotations

import concurrent.futures
import functools
import inspect
import json
import multiprocessing
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr

from app import render
from app.sessions import RETRIES, BadKey, Catalogue, Session, Sessions, check_key, new_key
from memnet import Answered, Memory, Skipped, Stored
from memnet.input.coref import Discourse
from memnet.input.clean import prepare, strip_controls
from memnet.memory.slots import MemoryFormatError
from memnet.memory.store import Conflict, ConversationStore, StoreError, StoreFull, Turn

MAX_CHARS = 1_000_000       # a longer paste is refused whole, with a message
MAX_IMPORT_BYTES = 50_000_000
MAX_SLOTS = 100_000         # per conversation, unless app.py --max-slots says otherwise
CHUNK = 200                 # sentences read per step of a long paste, between progress updates
DISK_FULL = "The disk is full (or the data folder is read-only)"


def _store_message(error: StoreError) -> str:
    if isinstance(error, StoreFull):
        return f"{DISK_FULL}: nothing was stored. ({error})"
    return f"The conversation store cannot be read: {error}. Nothing was changed."


def plain_errors(fn: Callable) -> Callable:
    """`fn` with the store's failures as a gr.Error that says what happened (gradio shows any other
    exception as a bare "Error", or `{"error": null}` to an API client)."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def stream(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except StoreError as error:
                raise gr.Error(_store_message(error)) from None
        return stream

    @functools.wraps(fn)
    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except StoreError as error:
            raise gr.Error(_store_message(error)) from None
    return call


@dataclass
class Context:
    """What every session shares: the store, the models on offer, the example stories, the limits."""

    store: ConversationStore
    catalogue: Catalogue
    examples: Path
    max_slots: int = MAX_SLOTS
    sessions: Sessions = field(init=False)

    def __post_init__(self):
        self.sessions = Sessions(self.store, self.catalogue)


class Refused(Exception):
    """A message that cannot be taken; the text says why (nothing of it was stored)."""


def _merge_writes(events: list[Stored | Answered]) -> list[Stored | Answered]:
    """Adjacent runs of slots (a long paste is written chunk by chunk) as one, for the reply."""
    merged: list[Stored | Answered] = []
    for event in events:
        if isinstance(event, Stored) and merged and isinstance(merged[-1], Stored):
            merged[-1] = Stored(merged[-1].slots + event.slots)
        else:
            merged.append(event)
    return merged


def open_session(ctx: Context, key: str | None = None) -> Session:
    """The session `key` as the store has it (None: a new one, under a fresh key)."""
    return ctx.sessions.get(key or new_key())


def _user(text: str) -> dict:
    return {"role": "user", "content": render.user_message(text)}


def _bot(text: str) -> dict:
    return {"role": "assistant", "content": text}


def _check_room(ctx: Context, session: Session, adding: int) -> None:
    held = len(session.net.memory_store)
    if held > ctx.max_slots:
        raise Refused(f"This conversation would hold {held:,} memories; the limit is {ctx.max_slots:,} per conversation "
                      f"(app.py --max-slots). Nothing of this message ({adding:,} statements) was stored: "
                      "undo or clear some memories first.")


def _previous(ctx: Context, key: str, message_id: str | None) -> Turn | None:
    """A message id seen before: the turn stored with it (its result is the original reply)."""
    return ctx.store.find(key, message_id) if message_id else None


def _retried(body: Callable):
    """`body()`, run again when another process committed to the conversation first."""
    for attempt in range(RETRIES):
        try:
            return body()
        except Conflict:
            if attempt == RETRIES - 1:
                raise


def _record(ctx: Context, key: str, said: str, reply: str, message_id: str | None = None) -> None:
    """A chat exchange that stored nothing (a refusal), kept in the conversation when the disk allows."""
    def body():
        with ctx.sessions.writing(key) as session:
            ctx.sessions.commit(session, Turn(lines=[_user(said), _bot(reply)], result=reply, message_id=message_id))
    try:
        _retried(body)
    except (StoreFull, KeyError):
        pass


def _refusal(text: str, removed: int) -> str | None:
    """Why a message cannot be taken, or None when it can."""
    if len(text) > MAX_CHARS:
        return f"That message is {len(text):,} characters long; the limit is {MAX_CHARS:,}. Nothing was stored: please split it."
    if not text:
        return "That message was empty" + (f" once {removed} control characters were removed" if removed else "") + ": nothing was stored."
    return None


# ---- the chat turn -------------------------------------------------------------------
def chat_turn(ctx: Context, key: str, message: str, hops: int | None, message_id: str | None = None) -> Iterator[str]:
    """One chat message: statements stored, questions answered. Yields the reply as it grows
    (progress first for a long paste); the turn is committed before any acknowledgement. A
    `message_id` seen before returns the first reply and stores nothing again."""
    if (earlier := _previous(ctx, key, message_id)) is not None:
        yield earlier.result
        return
    text, removed = strip_controls(message)
    refusal = _refusal(text, removed)
    try:
        open_session(ctx, key).net.check_hops(hops)
    except ValueError as error:
        refusal = refusal or f"{error}. Nothing was stored."
    if refusal:
        _record(ctx, key, text, refusal, message_id)
        yield refusal
        return
    prepared = prepare(text)
    chunks = prepared.chunks(CHUNK)
    for attempt in range(RETRIES):
        try:
            with ctx.sessions.writing(key) as session:
                mark, results = session.mark(), []
                for done, chunk in enumerate(chunks):
                    if len(chunks) > 1:
                        yield f"Reading your message… {done * CHUNK:,} of {len(prepared.units):,} sentences"
                    results += session.net.respond(chunk, hops)
                slots = [slot for e in results if isinstance(e, Stored) for slot in e.slots]
                _check_room(ctx, session, len(slots))
                skipped = [e for e in results if isinstance(e, Skipped)]
                results = _merge_writes([e for e in results if not isinstance(e, Skipped)])
                answers = [e.answer for e in results if isinstance(e, Answered)]
                replies = list(render.turn_reply(results, removed, skipped))
                turn = Turn(slots=slots, lines=[_user(text), _bot(replies[-1])], coref=session.coref_patch(mark),
                            answer=answers[-1].to_json() if answers else None, sets_answer=bool(answers),
                            result=replies[-1], message_id=message_id)
                try:
                    ctx.sessions.commit(session, turn)
                except StoreFull:
                    if slots:
                        raise
                    # a question is still answered on a full disk; only its record is missing
                    replies.append(replies[-1] + f"\n\n({DISK_FULL}: this exchange is not saved in the conversation.)")
                if answers:
                    session.last_answer = answers[-1]
            break
        except Conflict:
            if attempt == RETRIES - 1:
                raise
        except KeyError:   # the same message id was committed meanwhile (a retry racing its original)
            yield _previous(ctx, key, message_id).result
            return
        except Refused as error:
            _record(ctx, key, text, str(error), message_id)
            yield str(error)
            return
        except StoreFull:
            yield f"{DISK_FULL}: nothing of this message was stored. Your memory is unchanged; questions still work."
            return
    yield from replies


# ---- API endpoints: JSON-friendly in and out ----------------------------------------------
def _api_key(state: str | None, session: str | None) -> str:
    """The client's own key (`session`), else the one this connection was given, else a new one."""
    if session:
        try:
            return check_key(session)
        except BadKey as error:
            raise gr.Error(str(error)) from None
    return state or new_key()


def _api_write(ctx: Context, key: str, message_id: str | None, body: Callable[[], object]) -> object:
    """Run a write endpoint once per message id: a retried id gets the first result."""
    if (earlier := _previous(ctx, key, message_id)) is not None:
        return earlier.result
    try:
        return _retried(body)
    except KeyError:
        return _previous(ctx, key, message_id).result
    except StoreFull:
        raise gr.Error(f"{DISK_FULL}: nothing was stored. Reading and asking still work.") from None
    except Refused as error:
        raise gr.Error(str(error)) from None


@plain_errors
def tell(ctx: Context, text: str, state: str | None = None, session: str = "", message_id: str = "") -> tuple[dict, str]:
    """Store the statements in `text`; returns {"slots": the slots written, "skipped": [{"text", "reason"}]
    for each part of the text that was not stored}. `session`: a key the client keeps
    (16-128 letters, digits, - or _) to find this memory again, after a restart too; `message_id`:
    an id per message, so that sending it again stores nothing twice and returns the first result."""
    key, message_id = _api_key(state, session), message_id or None
    text, removed = strip_controls(text)
    refusal = _refusal(text, removed)
    if refusal:
        raise gr.Error(refusal)

    def body():
        with ctx.sessions.writing(key) as s:
            mark = s.mark()
            slots = s.net.tell(text)
            _check_room(ctx, s, len(slots))
            result = slots.to_json()
            reply = render.told_reply(slots, slots.skipped)
            ctx.sessions.commit(s, Turn(slots=slots, lines=[_user(text), _bot(reply)], coref=s.coref_patch(mark),
                                        result=result, message_id=message_id))
            return result
    return _api_write(ctx, key, message_id, body), key


@plain_errors
def ask(ctx: Context, question: str, state: str | None = None, session: str = "", message_id: str = "") -> tuple[dict, str]:
    """Answer from memory: the answer, its supporting slots in hop order with scores, R's runner-ups.
    On a full disk the answer still comes; only its record in the conversation is missing."""
    key, message_id = _api_key(state, session), message_id or None
    question, _ = strip_controls(question)

    def body():
        with ctx.sessions.writing(key) as s:
            mark = s.mark()
            answer = s.net.ask(question, s.hops)
            result = answer.to_json()
            turn = Turn(lines=[_user(question), _bot(list(render.answer_reply(answer))[-1])], coref=s.coref_patch(mark),
                        answer=result, sets_answer=True, result=result, message_id=message_id)
            try:
                ctx.sessions.commit(s, turn)
            except StoreFull:
                return result
            s.last_answer = answer
            return result
    return _api_write(ctx, key, message_id, body), key


@plain_errors
def memory(ctx: Context, state: str | None = None, session: str = "") -> tuple[list[dict], str]:
    """Every slot, in write order."""
    key = _api_key(state, session)
    return [slot.to_json() for slot in ctx.sessions.get(key).net.memory], key


def _clear(ctx: Context, key: str) -> int:
    def body():
        with ctx.sessions.writing(key) as s:
            forgotten = len(s.net.memory_store)
            ctx.sessions.commit(s, Turn("clear"))
            ctx.sessions.reload(s)
            return forgotten
    return _retried(body)


@plain_errors
def clear(ctx: Context, state: str | None = None, session: str = "") -> tuple[dict, str]:
    """Forget everything this session stored, and the conversation with it."""
    key = _api_key(state, session)
    try:
        return {"cleared": _clear(ctx, key)}, key
    except StoreFull:
        raise gr.Error(f"{DISK_FULL}: nothing was cleared.") from None


# ---- UI events: component values out ------------------------------------------------------
def panel(session: Session, word: str = "") -> tuple:
    """The memory panel: the slot table, O's per-hop chart, R's runner-ups."""
    answer = session.last_answer
    return (render.memory_table(session.net.memory, answer, word),
            render.hop_chart(answer, session.net.memory_store.resolved), render.ranking_table(answer))


def _browser_key(key: str | None) -> str:
    try:
        return check_key(key) if key else new_key()
    except BadKey:
        return new_key()


@plain_errors
def on_filter(ctx: Context, key: str | None, word: str) -> str:
    session = ctx.sessions.get(_browser_key(key))
    return render.memory_table(session.net.memory, session.last_answer, word)


def max_hops(ctx: Context) -> int:
    """The hops slider's maximum: what the default model can run."""
    return ctx.catalogue.open(None).model.max_hops


@plain_errors
def on_load(ctx: Context, key: str | None, word: str, inputs: int = 0) -> tuple:
    """A page (re)load: the browser's session back from the store, or a new one.
    Outputs: key, chatbot, hops, the model dropdown (its value, enabled), panel…, then `inputs` updates
    that enable the message box and the buttons that use the session: they wait for it, or a message
    sent before it would go to a session of its own that this load then replaces (the statement
    stored, the page not showing it; an import or a model choice the same)."""
    session = open_session(ctx, _browser_key(key))
    hops = session.hops or session.net.model.config.hops
    return (session.key, session.chat, hops, gr.update(value=session.model, interactive=True), *panel(session, word),
            *[gr.update(interactive=True)] * inputs)


def _set_hops(ctx: Context, key: str, hops: int) -> None:
    """Remember the hops slider with the conversation (when it changed and the model can run it)."""
    try:
        ctx.sessions.get(key).net.check_hops(hops)
    except ValueError:
        return   # the turn itself refuses it, with the reason
    def body():
        with ctx.sessions.writing(key) as session:
            if session.hops != hops:
                session.version = ctx.store.set_settings(key, session.version, {"hops": hops})
                session.hops = hops
    try:
        _retried(body)
    except StoreFull:
        pass   # the turn itself says what the disk allows


@plain_errors
def on_message(ctx: Context, message: str, key: str | None, hops: int, word: str) -> Iterator[tuple]:
    """Outputs: chatbot, textbox, memory table, chart, runner-ups, key. The tab's key travels with
    every event, so a tab left open across a restart keeps writing into its own conversation."""
    key = _browser_key(key)
    if not message or message.isspace():   # Enter in a blank box: a chat box does nothing (the API still says why)
        yield gr.skip(), "", gr.skip(), gr.skip(), gr.skip(), key
        return
    if ctx.sessions.get(key).hops != int(hops):
        _set_hops(ctx, key, int(hops))
    session = ctx.sessions.get(key)
    earlier, answered = list(session.chat), session.last_answer
    pending = [_user(strip_controls(message)[0])]
    for reply in chat_turn(ctx, key, message, int(hops)):
        yield earlier + pending + [_bot(reply)], "", gr.skip(), gr.skip(), gr.skip(), key
    session = ctx.sessions.get(key)
    if session.last_answer is answered:   # a statement: O's chart and R's ranking are unchanged, not re-rendered
        yield session.chat, "", on_filter(ctx, key, word), gr.skip(), gr.skip(), key
    else:
        yield session.chat, "", *panel(session, word), key


@plain_errors
def on_undo(ctx: Context, key: str | None, word: str) -> tuple:
    """Take back everything the last message that wrote memories changed: its slots, its chat lines
    and what coreference learned from it. Outputs: chatbot, panel…, key."""
    key = _browser_key(key)

    def body():
        with ctx.sessions.writing(key) as session:
            def note(undone: Turn) -> Turn:
                slots = sorted(slot.index for slot in undone.slots)
                which = f"slot {slots[0]}" if len(slots) == 1 else f"slots {slots[0]}–{slots[-1]}"
                text = f"Undone: forgot {render.counted(len(slots), 'slot')} ({which})."
                return Turn("undo", lines=[_bot(text)], clock=session.net.memory_store.clock,
                            messages=session.net.memory_store.messages)
            session.version, undone = ctx.store.undo(key, session.version, note)
            ctx.sessions.reload(session)   # the memory, chat and coreference state as before that message
            if undone is None:
                session.chat = session.chat + [_bot("Nothing to undo.")]
            return session
    try:
        session = _retried(body)
    except StoreFull:
        session = ctx.sessions.get(key)
        session.chat = session.chat + [_bot(f"{DISK_FULL}: nothing was undone.")]
    return session.chat, *panel(session, word), key


@plain_errors
def on_clear(ctx: Context, key: str | None, word: str) -> tuple:
    key = _browser_key(key)
    try:
        gr.Info(f"Memory cleared: forgot {render.counted(_clear(ctx, key), 'slot')}.")   # the chat empties too: say so
    except StoreFull:
        gr.Warning(f"{DISK_FULL}: nothing was cleared.")
    session = ctx.sessions.get(key)
    return session.chat, *panel(session, word), key


@plain_errors
def on_export(ctx: Context, key: str | None) -> str:
    """The memory as a JSON file, for the download component (in a folder only the owner can read)."""
    session = ctx.sessions.get(_browser_key(key))
    try:
        folder = Path(tempfile.mkdtemp(prefix="memnet-export-"))
        path = folder / "memnet-memory.json"
        data = session.net.memory_store.to_json()
        if isinstance(session.net.discourse, Discourse):   # whom "he" and "there" mean, so an import goes on as before
            data["coref"] = session.net.discourse.to_json()
        path.write_text(json.dumps(data, indent=1))
    except OSError as error:
        raise gr.Error(f"Could not write the export file in {tempfile.gettempdir()}: {error.strerror} "
                       "(is that disk full?). Your memory is unchanged.") from None
    return str(path)


def read_memory_file(path: str | Path, max_slots: int = MAX_SLOTS) -> tuple[Memory, dict | None]:
    """A memory from an export file, and I's coreference state saved with it (None in a file without
    one), or MemoryFormatError saying what is wrong with the file."""
    path = Path(path)
    if path.stat().st_size > MAX_IMPORT_BYTES:
        raise MemoryFormatError(f"the file is larger than {MAX_IMPORT_BYTES // 1_000_000} MB")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        memory = Memory.from_json(data, limit=max_slots)
        coref = data.get("coref")
        if coref is not None:
            try:
                coref = Discourse.from_json(coref).to_json()   # checked, and in this version's form
            except (KeyError, TypeError, AttributeError) as error:
                raise MemoryFormatError(f"its 'coref' is not a coreference state ({type(error).__name__}: {error})") from None
        return memory, coref
    except UnicodeDecodeError:
        raise MemoryFormatError("the file is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise MemoryFormatError(f"the file is not valid JSON ({error})") from None
    except RecursionError:
        raise MemoryFormatError("the file nests too deeply to be a memory export") from None
    except (TypeError, ValueError, OverflowError) as error:  # MemoryFormatError is a ValueError
        raise MemoryFormatError(str(error) or type(error).__name__) from None


def _imported(count: int, name: str) -> str:
    """An import's status line, in the chat and under the Import button alike."""
    return f"Imported {render.counted(count, 'slot')} from {name}."


def _import_file(store: ConversationStore, key: str, expected: int, path: str, max_slots: int, name: str) -> int:
    """Run in the import worker process: read and validate the file, append it as an import turn
    (at version `expected`; Conflict otherwise); returns the number of slots imported."""
    imported, coref = read_memory_file(path, max_slots)
    status = _imported(len(imported), name)
    store.append(key, expected, Turn("import", slots=imported.slots, lines=[_bot(render.user_message(status))],
                                     coref=coref, clock=imported.clock, messages=imported.messages))
    return len(imported)


_importer: concurrent.futures.ProcessPoolExecutor | None = None
_importer_lock = threading.Lock()


def _import_worker() -> concurrent.futures.ProcessPoolExecutor:
    """One worker process for imports (started at the first one): parsing and validating a large
    export and inserting its rows hold the GIL for seconds (json.loads of 37 MB alone is one call of
    about a second), which in this process would stall every other session's turns."""
    global _importer
    with _importer_lock:
        if _importer is None:
            _importer = concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                                               initializer=_exit_with_app, initargs=(os.getpid(),))
        return _importer


def _exit_with_app(app: int) -> None:
    """In the import worker: exit once the app process is gone (stopped, or killed with -9), never linger."""
    def watch():
        while os.getppid() == app:
            time.sleep(1)
        os._exit(0)
    threading.Thread(target=watch, daemon=True).start()


def _discard_upload(path: str) -> None:
    """Delete an uploaded file (and its folder, when empty) once read: gradio keeps uploads in its
    temp folder until the app stops, so every import would otherwise stay on disk."""
    upload, uploads = Path(path).resolve(), Path(gr.utils.get_upload_folder()).resolve()
    if uploads in upload.parents:
        upload.unlink(missing_ok=True)
        if upload.parent != uploads and not any(upload.parent.iterdir()):
            upload.parent.rmdir()


@plain_errors
def on_import(ctx: Context, path: str | None, key: str | None, word: str) -> tuple:
    """Replace the memory with an exported one; a bad file changes nothing. The file is read,
    checked and stored by a worker process, so a large import does not stall other sessions.
    Outputs: status, chatbot, panel…, key."""
    global _importer
    key = _browser_key(key)
    name = Path(path).name if path else ""
    try:
        if not path:
            raise MemoryFormatError("no file was uploaded")

        def body():
            with ctx.sessions.writing(key) as session:
                work = _import_worker().submit(_import_file, ctx.store, key, session.version, path, ctx.max_slots, name)
                count = work.result()
                ctx.sessions.reload(session)
                return count
        status = _imported(_retried(body), name)
    except MemoryFormatError as error:
        status = f"Could not import {name or 'a file'}: {error}. Your memory is unchanged."
    except StoreFull:
        status = f"Could not import {name}: {DISK_FULL}. Your memory is unchanged."
    except BrokenProcessPool:
        with _importer_lock:
            _importer = None
        status = f"Could not import {name}: the import worker stopped (out of memory?). Your memory is unchanged."
    finally:
        if path:
            _discard_upload(path)
    session = ctx.sessions.get(key)
    return status, session.chat, *panel(session, word), key


@plain_errors
def on_model(ctx: Context, label: str, key: str | None) -> tuple[str, int, str]:
    """Answer with another checkpoint from now on; the memory and the coreference state stay.
    Outputs: status, hops, key."""
    key = _browser_key(key)
    chosen = ctx.catalogue.label_of(label)

    def body():
        with ctx.sessions.writing(key) as session:
            session.version = ctx.store.set_settings(key, session.version, {"model": chosen, "hops": None})
            fresh = ctx.catalogue.open(chosen)
            session.net = fresh.conversation(session.net.memory_store)
            ctx.sessions.restore_coref(session)
            session.model, session.hops = chosen, None
            return session
    try:
        session = _retried(body)
    except StoreFull:
        session = ctx.sessions.get(key)
        return f"{DISK_FULL}: the model was not changed. Model: {session.model}", session.net.model.config.hops, key
    return f"Model: {session.model}", session.net.model.config.hops, key


def examples(ctx: Context) -> list[Path]:
    return sorted(ctx.examples.glob("*.txt"))


def example_text(path: Path) -> str:
    return path.read_text(encoding="utf-8")
