"""Where each service spends its time: py-spy attached to the running processes.

Why py-spy and not an in-process profiler: it samples every thread of an unmodified service
(ingest normalizes in a worker thread, which a main-thread profiler would not see), from outside,
with ``--nonblocking`` so the service is not paused while sampled. The collapsed stacks it writes
are summarized here into the functions with the most *self* time and the project functions with
the most *inclusive* time, per service; the raw files stay in the output folder for flame graphs
(e.g. ``speedscope`` or ``flamegraph.pl``).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_PROJECT_MARKERS = ("services/", "wiredesk/")
#: Frames every sample passes through (the command line, the process entry): no information.
_ENTRY_FILES = ("wiredesk/app/cli.py", "wiredesk/__main__.py")


def find_py_spy() -> str | None:
    """py-spy next to this interpreter (the venv) or on PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    if beside.is_file():
        return str(beside)
    return shutil.which("py-spy")


@dataclass(slots=True)
class Sampler:
    """py-spy recorders attached to the processes of each service."""

    out_dir: Path
    rate: int = 200
    procs: dict[str, list[tuple[subprocess.Popen[bytes], Path]]] = field(default_factory=dict)

    def attach(self, pids: dict[str, list[int]]) -> None:
        exe = find_py_spy()
        if exe is None:
            raise FileNotFoundError("py-spy not found: pip install py-spy")
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for service, service_pids in pids.items():
            for index, pid in enumerate(service_pids):
                path = self.out_dir / f"{service}-{index}.txt"
                proc = subprocess.Popen(
                    [
                        exe,
                        "record",
                        "--pid",
                        str(pid),
                        "--rate",
                        str(self.rate),
                        "--format",
                        "raw",
                        "--nonblocking",
                        "--output",
                        str(path),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                self.procs.setdefault(service, []).append((proc, path))

    def stop(self) -> dict[str, Any]:
        """Stop sampling (SIGINT makes py-spy write its file) and summarize per service."""
        for entries in self.procs.values():
            for proc, _ in entries:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGINT)
        summary: dict[str, Any] = {}
        for service, entries in self.procs.items():
            stacks: Counter[str] = Counter()
            for proc, path in entries:
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                if path.is_file():
                    stacks.update(read_collapsed(path.read_text(errors="replace")))
            summary[service] = summarize_stacks(stacks)
        summary["files"] = str(self.out_dir)
        return summary


def read_collapsed(text: str) -> Counter[str]:
    """``stack -> samples`` from collapsed-stack text (``frame;frame;... count`` per line)."""
    out: Counter[str] = Counter()
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            out[stack] += int(count)
    return out


def _frame_name(frame: str) -> str:
    """``func (path/to/file.py:123)`` -> ``func (file.py)``: lines of one function add up."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rpartition(":")[0] or where.rstrip(")")
    for marker in _PROJECT_MARKERS:
        if marker in path:
            path = marker + path.rpartition(marker)[2]
            break
    else:
        path = path.rpartition("/")[2]
    return f"{name} ({path})" if path else name


def summarize_stacks(stacks: Counter[str], *, top: int = 15) -> dict[str, Any]:
    """Top functions by self share and project functions by inclusive share of samples."""
    total = sum(stacks.values())
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for stack, count in stacks.items():
        frames = [
            _frame_name(f) for f in stack.split(";") if " (" in f and not f.startswith("process ")
        ]
        if not frames:
            continue
        own[frames[-1]] += count
        for name in set(frames):
            inclusive[name] += count
    project = Counter(
        {
            k: v
            for k, v in inclusive.items()
            if any(m in k for m in _PROJECT_MARKERS) and not any(e in k for e in _ENTRY_FILES)
        }
    )

    def share(counter: Counter[str]) -> list[dict[str, Any]]:
        return [
            {"function": name, "share": round(count / total, 3)}
            for name, count in counter.most_common(top)
        ]

    return {"samples": total, "self": share(own), "project_inclusive": share(project)}
