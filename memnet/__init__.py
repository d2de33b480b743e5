"""memnet: Memory Networks (Weston, Chopra & Bordes, ICLR 2015) with inspectable I, G, O, R."""

from memnet.input.clean import Skipped
from memnet.network import Answer, HopResult, MemoryNetwork, Told
from memnet.memory.slots import Memory, Slot

__all__ = ["Answer", "HopResult", "Memory", "MemoryNetwork", "Skipped", "Slot", "Told"]
