"""What machine a benchmark ran on: shared by the scripts in this folder.

The scripts run as ``python benchmarks/<script>.py``, so this folder is on ``sys.path``.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo (Linux), else the platform module's answer."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity), else the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def load_average(sep: str = ", ") -> str:
    """The 1-, 5- and 15-minute load averages, or "unknown"."""
    try:
        return sep.join(f"{x:.2f}" for x in os.getloadavg())
    except (OSError, AttributeError):
        return "unknown"


def torch_machine() -> str:
    """One line: CPU, cores, GPU if any, torch version and threads, load average."""
    import torch

    gpu = f", GPU {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""
    return (
        f"{cpu_model()}, {usable_cores()} cores{gpu}; torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; load average {load_average()}"
    )
