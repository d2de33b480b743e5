"""G: slots as columns, H's slot choice, capacity and forgetting."""
import numpy as np
import pytest

from memnet.memory.slots import Memory, MemoryFormatError
from memnet.input.sentence import SimpleInput

READ = SimpleInput()
ROOMS = {"kitchen", "office", "garden", "hallway", "bathroom"}


def tell(memory: Memory, text: str):
    return memory.write(READ(text))


def room_class(word: str) -> str:
    return "room" if word in ROOMS else word


def test_writes_fill_positions_in_order_and_undo_frees_them():
    memory = Memory()
    tell(memory, "John went to the kitchen. Mary went to the garden.")
    tell(memory, "John went to the office.")
    assert [(s.index, s.time, s.message) for s in memory.slots] == [(0, 0, 1), (1, 1, 1), (2, 2, 2)]
    assert [s.text for s in memory.undo()] == ["John went to the office."]
    assert [s.index for s in tell(memory, "Sandra went to the hallway.")] == [2]
    assert memory.slots[-1].time == 3 and len(memory) == 3   # write times are never reused
    memory.clear()   # ... but a cleared memory is a new one
    assert [(s.index, s.time, s.message) for s in tell(memory, "Mary went home.")] == [(0, 0, 1)] and len(memory) == 1


def test_full_memory_forgets_a_superseded_location_before_a_current_one():
    memory = Memory(capacity=3, word_class=room_class)
    tell(memory, "Mary went to the garden.")       # oldest, but still Mary's location
    tell(memory, "John went to the kitchen.")      # superseded by the next line
    tell(memory, "John went to the office.")
    tell(memory, "Sandra went to the hallway.")
    assert sorted(s.text for s in memory.slots) == ["John went to the office.", "Mary went to the garden.",
                                                    "Sandra went to the hallway."]
    assert memory.superseded()[: memory.size].sum() == 0


def test_without_supersession_the_least_recently_used_slot_goes():
    memory = Memory(capacity=2)
    tell(memory, "Mary went to the garden. John went to the kitchen.")
    memory.touch([0])                              # O picked Mary's slot after both were written
    tell(memory, "Sandra went to the hallway.")
    assert sorted(s.text for s in memory.slots) == ["Mary went to the garden.", "Sandra went to the hallway."]
    assert memory.slots[0].index == 0 and memory.slot(1).text == "Sandra went to the hallway."


def test_capacity_holds_under_a_long_stream():
    memory = Memory(capacity=5, word_class=room_class)
    for i in range(40):
        tell(memory, f"Actor{i % 7} went to the {sorted(ROOMS)[i % 5]}.")
    assert len(memory) == 5 and memory.size == 5
    assert np.all(np.diff([s.time for s in memory.slots]) > 0)


def test_json_round_trip_keeps_positions_and_capacity():
    memory = Memory(capacity=4)
    tell(memory, "A went to the kitchen. B went to the office. C went to the garden. D went to the hallway.")
    tell(memory, "E went to the bathroom.")        # overwrites a position in the middle
    restored = Memory.from_json(memory.to_json())
    assert restored.slots == memory.slots and restored.capacity == 4
    assert restored.clock == memory.clock
    with pytest.raises(MemoryFormatError, match="capacity"):
        Memory.from_json({**memory.to_json(), "capacity": 2})
