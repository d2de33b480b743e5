"""memnet: Memory Networks (Weston, Chopra & Bordes, ICLR 2015) with inspectable I, G, O, R."""

from memnet.input.clean import Skipped
from memnet.memory.slots import Memory, Slot
from memnet.network import Answered, MemoryNetwork, Stored, Told
from memnet.records import Answer, Hop

__all__ = ["Answer", "Answered", "Hop", "Memory", "MemoryNetwork", "Skipped", "Slot", "Stored", "Told"]
