"""Persistence of large memories: SQLite slots and safetensors columns."""
import contextlib
import sqlite3

import pytest

from memnet.memory import store
from memnet.memory.slots import Memory, MemoryFormatError
from memnet.input.sentence import Sentence


def test_round_trip_at_a_few_thousand_slots(tmp_path):
    memory = Memory(capacity=3000)
    for batch in range(4):
        memory.write([Sentence(f"Actor{i} went to room{batch}.", f"actor{i} went to room{batch}.",
                               (f"actor{i}", "went", "to", f"room{batch}")) for i in range(1000)])
    memory.write([Sentence("Only typed.", "Only typed.", ("only", "typed"))])
    memory.undo()                                  # leaves a free position
    memory.touch([5, 6, 5])
    store.save(memory, tmp_path / "m")
    loaded = store.load(tmp_path / "m")
    assert loaded.slots == memory.slots and len(loaded) == len(memory) == 2999
    assert (loaded.keys[: loaded.size] == memory.keys[: memory.size]).all()
    assert loaded.hits[5] == memory.hits[5] == 2 and loaded.capacity == 3000
    assert (loaded.clock, loaded.messages) == (memory.clock, memory.messages)
    loaded.write([Sentence("New.", "New.", ("new",))])
    assert loaded.slots[-1].time == memory.clock   # the clock goes on


def test_missing_or_damaged_store_is_a_clear_error(tmp_path):
    with pytest.raises(MemoryFormatError, match="not a saved memory"):
        store.load(tmp_path)
    memory = Memory()
    memory.write([Sentence("A.", "A.", ("a",))])
    store.save(memory, tmp_path / "m")
    (tmp_path / "m" / "columns.safetensors").write_bytes(b"garbage")
    with pytest.raises(MemoryFormatError, match="damaged"):
        store.load(tmp_path / "m")


# ---- the conversation log -------------------------------------------------------------------
from memnet.memory.store import Conflict, SQLiteStore, StoreFull, Turn  # noqa: E402


def _turn(memory: Memory, *texts: str, **fields) -> Turn:
    slots = memory.write([Sentence(t, t, tuple(t.lower().rstrip(".").split())) for t in texts])
    return Turn(slots=slots, lines=[{"role": "user", "content": " ".join(texts)}], clock=memory.clock,
                messages=memory.messages, **fields)


def test_log_appends_turns_and_every_reader_sees_them(tmp_path):
    writer, reader = SQLiteStore(tmp_path), SQLiteStore(tmp_path)   # two processes on one folder
    memory = Memory()
    assert writer.version("k") is None and writer.load("k") is None
    assert writer.append("k", 0, _turn(memory, "John went to the hall.", "Mary went to the yard.")) == 1
    assert writer.append("k", 1, _turn(memory, "Fred went to the den.", coref={"entities": {"john": 1}, "clock": 1})) == 2
    saved = reader.load("k")
    assert saved.version == 2 and saved.memory.slots == memory.slots
    assert (saved.memory.clock, saved.memory.messages) == (memory.clock, memory.messages)
    assert len(saved.chat) == 2 and saved.coref == {"entities": {"john": 1}, "clock": 1}


def test_a_stale_writer_is_refused_not_overwriting(tmp_path):
    store, memory = SQLiteStore(tmp_path), Memory()
    store.append("k", 0, _turn(memory, "A went to b."))
    with pytest.raises(Conflict):
        store.append("k", 0, _turn(Memory(), "C went to d."))   # wrote from version 0, the log is at 1
    assert [s.text for s in store.load("k").memory.slots] == ["A went to b."]


def test_a_message_id_is_stored_once(tmp_path):
    store, memory = SQLiteStore(tmp_path), Memory()
    store.append("k", 0, _turn(memory, "A went to b.", message_id="m1", result=["slot 0"]))
    with pytest.raises(KeyError):
        store.append("k", 1, _turn(memory, "A went to b.", message_id="m1"))
    assert store.find("k", "m1").result == ["slot 0"] and store.find("k", "m2") is None
    assert store.find("other", "m1") is None   # ids are per conversation


def test_undo_marks_the_last_writing_turn_and_restores_the_coreference_state_before_it(tmp_path):
    store, memory = SQLiteStore(tmp_path), Memory()
    store.append("k", 0, _turn(memory, "Mary went to the yard.", coref={"entities": {"mary": 1}, "clock": 1}))
    store.append("k", 1, _turn(memory, "John went to the hall.", coref={"entities": {"john": 2}, "clock": 2}))
    store.append("k", 2, Turn(lines=[{"role": "user", "content": "Where is John?"}], coref={"clock": 3}))  # no slots
    version, undone = store.undo("k", 3, lambda turn: Turn("undo", lines=[{"role": "assistant", "content": "undone"}]))
    assert version == 4 and [s.text for s in undone.slots] == ["John went to the hall."]
    saved = store.load("k")
    assert [s.text for s in saved.memory.slots] == ["Mary went to the yard."]
    assert saved.coref == {"entities": {"mary": 1}, "clock": 3}   # John learned from the undone turn is gone
    assert [line["content"] for line in saved.chat] == ["Mary went to the yard.", "Where is John?", "undone"]


def test_clear_and_import_reset_the_memory(tmp_path):
    store, memory = SQLiteStore(tmp_path), Memory()
    store.append("k", 0, _turn(memory, "A went to b."))
    store.append("k", 1, Turn("clear"))
    assert store.load("k").memory.slots == [] and store.load("k").chat == []
    imported = Memory()
    _turn(imported, "C went to d.", "E went to f.")
    store.append("k", 2, Turn("import", slots=imported.slots, clock=imported.clock, messages=imported.messages))
    assert store.load("k").memory.slots == imported.slots
    assert store.undo("k", 3, lambda turn: Turn("undo")) == (3, None)   # an import is not undone


def test_the_data_folder_and_files_are_the_owners_only(tmp_path):
    folder = tmp_path / "data"   # made by the store
    store = SQLiteStore(folder)
    store.append("k", 0, _turn(Memory(), "A went to b."))
    assert folder.stat().st_mode & 0o777 == 0o700
    assert {path.name: path.stat().st_mode & 0o777 for path in folder.iterdir()} == {
        path.name: 0o600 for path in folder.iterdir()} and (folder / "sessions.sqlite3").exists()


def test_a_full_disk_refuses_writes_clearly_and_reading_goes_on(tmp_path, monkeypatch):
    store = SQLiteStore(tmp_path)
    store.append("k", 0, _turn(Memory(), "A went to b."))
    real = sqlite3.connect

    def full(*args, **kwargs):   # SQLite's own error on a full disk, for every write
        db = real(*args, **kwargs)
        db.execute("PRAGMA query_only = 1")
        return db
    import sqlite3 as module
    monkeypatch.setattr(module, "connect", full)
    reopened = SQLiteStore(tmp_path)   # starting on a full disk works
    with pytest.raises(StoreFull):
        reopened.append("k", 1, _turn(Memory(), "C went to d."))
    assert [s.text for s in reopened.load("k").memory.slots] == ["A went to b."]


def test_a_real_full_disk_refuses_writes_and_keeps_every_read(small_disk):
    from tests.conftest import fill

    log, memory = SQLiteStore(small_disk / "data"), Memory()
    log.append("k", 0, _turn(memory, "John went to the hall.", message_id="m1"))
    fill(small_disk)
    for reader in (log, SQLiteStore(small_disk / "data")):   # this process, and one started on the full disk
        assert reader.version("k") == 1
        assert [s.text for s in reader.load("k").memory.slots] == ["John went to the hall."]
        assert reader.find("k", "m1").seq == 0 and reader.find("k", "m2") is None
        with pytest.raises(StoreFull, match="full"):
            reader.append("k", 1, _turn(Memory(), "Mary went to the yard."))
    assert log.load("k").version == 1


def test_a_new_store_on_a_full_disk_is_store_full_not_a_crash(small_disk):
    from tests.conftest import fill

    fill(small_disk)
    with pytest.raises(StoreFull):
        SQLiteStore(small_disk / "data")


def test_only_a_folder_the_store_made_is_closed_to_others(tmp_path, caplog):
    import stat

    made = tmp_path / "new" / "data"
    SQLiteStore(made)
    assert stat.S_IMODE(made.stat().st_mode) == 0o700
    assert stat.S_IMODE((made / "sessions.sqlite3").stat().st_mode) == 0o600
    shared = tmp_path / "home"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    SQLiteStore(shared)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755   # --data-dir ~ must not lock the home folder
    assert "can be listed by other users" in caplog.text
    assert stat.S_IMODE((shared / "sessions.sqlite3").stat().st_mode) == 0o600


def test_a_large_turn_is_written_in_chunks_and_seen_whole_or_not_at_all(tmp_path, monkeypatch):
    from memnet.memory import store as module

    monkeypatch.setattr(module, "CHUNK_ROWS", 100)
    log, memory = SQLiteStore(tmp_path), Memory()
    log.append("k", 0, _turn(memory, "John went to the hall."))
    imported = Memory()
    turn = _turn(imported, *(f"Actor{i} went to room{i}." for i in range(450)), message_id="imp")
    turn.kind = "import"
    other = _turn(memory, "Mary went to the yard.")
    real, seen, others = module.SQLiteStore._write, [], [other]

    @contextlib.contextmanager
    def write(self):   # after each of the log's transactions: a reader, and once another writer
        with real(self) as db:
            yield db
        if self is log:
            seen.append(len(SQLiteStore(tmp_path).load("k").memory))
            if len(seen) == 2 and others:
                SQLiteStore(tmp_path).append("k", 1, others.pop())
    monkeypatch.setattr(module.SQLiteStore, "_write", write)
    with pytest.raises(Conflict):   # the other writer came in between the chunks: the staged rows go
        log.append("k", 1, turn)
    assert seen == [1, 1, 2, 2, 2, 2, 2]   # staged, 5 chunks (the other writer after the first), cleaned up
    with sqlite3.connect(log.path) as db:
        assert db.execute("SELECT count(*) FROM turn_slots").fetchone()[0] == 2
        assert db.execute("SELECT count(*) FROM turns WHERE kind = 'staged'").fetchone()[0] == 0
    seen.clear()
    assert log.append("k", 2, turn) == 3
    assert seen == [2] * 6 + [450]   # readers see the import whole, or not at all
    saved = log.load("k")
    assert [s.text for s in saved.memory.slots] == [s.text for s in imported.slots]
    assert (saved.memory.clock, saved.memory.messages) == (imported.clock, imported.messages)
    assert log.find("k", "imp").kind == "import"
