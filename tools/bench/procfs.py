"""Per-process resident memory and CPU time from /proc (Linux), without extra dependencies.

CPU seconds per stage are the numbers to trust on a shared machine: other people's work stretches
wall-clock time, not the CPU time a service spends per article. Off Linux these return None and
the report says "n/a".
"""

from __future__ import annotations

import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _status_kb(pid: int, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def rss_bytes(pid: int) -> int | None:
    """Resident set size now (``VmRSS``)."""
    kb = _status_kb(pid, "VmRSS")
    return None if kb is None else kb * 1024


def peak_rss_bytes(pid: int) -> int | None:
    """Peak resident set size over the process's life (``VmHWM``)."""
    kb = _status_kb(pid, "VmHWM")
    return None if kb is None else kb * 1024


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time the process has used so far."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may contain spaces; fields after the closing paren are fixed
    fields = stat.rpartition(")")[2].split()
    try:
        return (int(fields[11]) + int(fields[12])) / _TICKS
    except (IndexError, ValueError):
        return None


def load_average() -> tuple[float, float, float] | None:
    try:
        return os.getloadavg()
    except OSError:
        return None
