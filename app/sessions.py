"""Which conversation a browser tab or API client is; the store does the keeping.

A conversation is named by its session key: the browser keeps it in localStorage, an API
client passes its own (or gets one per gradio connection). `Sessions` holds one `Session` per
key in this process, shared by every tab on that key, and checks the store's version before
each turn, so it always works on the latest committed state (another process, a restart).
"""
from __future__ import annotations

import contextlib
import json
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from memnet import Answer, MemoryNetwork
from memnet.checkpoint import DEFAULT_MODEL
from memnet.input.coref import Discourse
from memnet.memory.store import ConversationStore, Turn, patch_state

APP_NAME = "memnet"


def default_data_dir() -> Path:
    """Where sessions live unless --data-dir says otherwise (e.g. ~/.local/share/memnet)."""
    return Path(platformdirs.user_data_dir(APP_NAME))


class Catalogue:
    """The checkpoints a user may pick, by label: those under assets/ plus --model."""

    def __init__(self, assets: Path, extra: Path | None = None, extra_label: str | None = None):
        """`extra` (--model) is labelled `extra_label`, or its path."""
        found = sorted(p.parent for p in Path(assets).rglob("config.json") if (p.parent / "weights.safetensors").is_file())
        self.paths = {self._label(p, assets): p for p in found}
        extra_label = extra_label or str(extra)
        if extra is not None:
            self.paths = {extra_label: Path(extra), **self.paths}
        if not self.paths:
            raise FileNotFoundError(f"no model checkpoint under {assets}: train one (scripts/train_default.sh) or pass --model")
        bundled = [label for label, p in self.paths.items() if p.resolve() == DEFAULT_MODEL.resolve()]
        self.default = extra_label if extra is not None else (bundled or list(self.paths))[0]
        self._loaded: dict[str, MemoryNetwork] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _label(path: Path, assets: Path) -> str:
        return str(Path(assets.name) / path.relative_to(assets))

    @property
    def labels(self) -> list[str]:
        return list(self.paths)

    @property
    def choices(self) -> list[tuple[str, str]]:
        """(shown, label) per checkpoint for a dropdown: the label and a few words on what it is (`describe`)."""
        return [(f"{label} ({about})" if (about := describe(path)) else label, label) for label, path in self.paths.items()]

    def open(self, label: str | None) -> MemoryNetwork:
        """A conversation with an empty memory on `label`'s weights and input map (loaded once, then shared)."""
        label = self.label_of(label)
        with self._lock:
            if label not in self._loaded:
                self._loaded[label] = MemoryNetwork.load(self.paths[label])
        return self._loaded[label].conversation()

    def label_of(self, label: str | None) -> str:
        return label if label in self.paths else self.default


def describe(path: Path) -> str:
    """What a checkpoint was trained on, its k and the paper's features it goes without, read from its
    config.json (not its weights): "the simulated world; k=2; no write-time features". "" where the
    file does not say."""
    try:
        config = json.loads((Path(path) / "config.json").read_text())
        tasks, model = [str(task) for task in config.get("tasks") or ()], dict(config["model"])
    except (OSError, ValueError, KeyError, TypeError):
        return ""
    sources = [name for name, found in (
        ("bAbI", any(task.startswith("qa") and not task.startswith("qa0_") for task in tasks)),
        ("the simulated world", any(task.startswith("qa0_simworld") for task in tasks)),
        ("conversations", any(task.endswith("-conv") for task in tasks))) if found]
    lacks = [what for what, off in (("write-time features", model.get("time") is False),
                                    ("unseen-word and match features", model.get("unseen_context") is False and model.get("match") is False)) if off]
    parts = [", ".join(sources[:-1]) + " and " + sources[-1] if len(sources) > 1 else "".join(sources)]
    parts += [f"k={model['hops']}"] if "hops" in model else []
    parts += [f"no {what}" for what in lacks]
    return "; ".join(part for part in parts if part)


KEY = re.compile(r"[A-Za-z0-9_-]{16,128}")
RETRIES = 5   # a turn is recomputed when another process committed to the conversation meanwhile


class BadKey(ValueError):
    """A session key that is not 16-128 letters, digits, '-' or '_'."""


def new_key() -> str:
    return secrets.token_urlsafe(16)


def check_key(key: str) -> str:
    if not KEY.fullmatch(key):
        raise BadKey("a session key is 16 to 128 letters, digits, '-' or '_' (e.g. Python's secrets.token_urlsafe(16)); "
                     "a short key could be guessed by anyone who can reach the app")
    return key


@dataclass
class Session:
    """One conversation as of `version` of the store: its memory (inside `net`), the chat, settings."""

    key: str
    net: MemoryNetwork
    model: str
    version: int = 0
    chat: list[dict] = field(default_factory=list)    # gr.Chatbot messages, user text already escaped
    coref: dict | None = None                         # I's discourse state (kept across a model without coreference)
    hops: int | None = None                           # None: the model's own k
    last_answer: Answer | None = None                 # highlighted in the memory panel
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)  # one turn at a time (released by any thread: a streamed turn moves between threads)

    def coref_patch(self, mark: tuple | None) -> dict | None:
        """What this turn changed in I's discourse state (None: the model has none)."""
        return self.net.discourse.to_json(since=mark) if isinstance(self.net.discourse, Discourse) else None

    def mark(self) -> tuple | None:
        return self.net.discourse.mark() if isinstance(self.net.discourse, Discourse) else None


class Sessions:
    """The sessions of this process by key (the most recently used `cached`; others are re-read
    from the store when next used), each refreshed from the store when another writer moved it on."""

    def __init__(self, store: ConversationStore, catalogue: Catalogue, cached: int = 256):
        self.store, self.catalogue, self.cached = store, catalogue, cached
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Session:
        """The session `key`, as of the latest committed turn (an unknown key: a new, empty one)."""
        with self._lock:
            session = self._sessions.get(key)
            if session is None:
                session = self._sessions[key] = Session(key, self.catalogue.open(None), self.catalogue.default, version=-1)
            self._sessions.move_to_end(key)
            while len(self._sessions) > self.cached:
                self._sessions.popitem(last=False)
        with session.lock:
            if (self.store.version(key) or 0) != session.version:
                self.reload(session)
        return session

    def reload(self, session: Session) -> None:
        """Replace what `session` holds by the store's latest state (dropping uncommitted changes)."""
        saved = self.store.load(session.key)
        settings = saved.settings if saved else {}
        label = self.catalogue.label_of(settings.get("model"))
        shared = self.catalogue.open(label)
        memory = saved.memory if saved else None
        session.net = shared.conversation(memory)
        session.model, session.hops = label, settings.get("hops")
        session.version = saved.version if saved else 0
        session.chat = saved.chat if saved else []
        session.coref = saved.coref if saved else None
        session.last_answer = Answer.from_json(saved.answer) if saved and saved.answer else None
        self.restore_coref(session)

    @staticmethod
    def restore_coref(session: Session) -> None:
        if isinstance(session.net.discourse, Discourse):
            session.net.discourse = Discourse.from_json(session.coref) if session.coref else Discourse()

    @contextlib.contextmanager
    def writing(self, key: str) -> Iterator[Session]:
        """The session, locked and fresh, for one write; if the body fails (or is abandoned), what it
        changed in memory is dropped by re-reading the store, so memory always equals the store."""
        session = self.get(key)
        with session.lock:
            if (self.store.version(key) or 0) != session.version:
                self.reload(session)
            try:
                yield session
            except BaseException:
                self.reload(session)
                raise

    def commit(self, session: Session, turn: Turn) -> None:
        """Append the turn (raises Conflict, StoreFull, KeyError for a repeated message id); on success
        the session's chat, coreference state and highlight follow the store."""
        memory = session.net.memory_store   # a clear starts the write times again (`Memory.clear`)
        turn.clock, turn.messages = (0, 0) if turn.kind == "clear" else (memory.clock, memory.messages)
        session.version = self.store.append(session.key, session.version, turn)
        session.chat = session.chat + turn.lines
        session.coref = patch_state(session.coref, turn.coref)

