"""Persistence of large memories: SQLite slots and safetensors columns."""
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
