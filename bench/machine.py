"""The machine facts every benchmark writes beside its figures: results compare only on like machines,
and other jobs on the cores (the load average) slow every figure down."""
from __future__ import annotations

import os
import platform
from pathlib import Path

import spacy
import torch


def facts() -> dict:
    """CPU model, cores this process may use, torch threads, versions, and the 1-minute load average."""
    cpuinfo = Path("/proc/cpuinfo")
    cpu = next((line.split(":", 1)[1].strip() for line in (cpuinfo.read_text().splitlines() if cpuinfo.exists() else [])
                if line.startswith("model name")), platform.processor() or platform.machine())
    return {"cpu": cpu, "cores": len(os.sched_getaffinity(0)), "torch_threads": torch.get_num_threads(),
            "python": platform.python_version(), "torch": torch.__version__, "spacy": spacy.__version__,
            "load_average_1min": round(os.getloadavg()[0], 2)}
