"""Starting the services as separate processes, the way a deployment runs them.

Used by ``wiredesk demo``, the end-to-end tests, the evaluation and the benchmark, so all of them
exercise the real process boundary (separate interpreters talking only through Redis).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

SERVICES = ("ingest", "dedupe", "store")


class ServiceProcesses:
    """A set of ``wiredesk run SERVICE`` child processes sharing one environment."""

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        services: Sequence[str] = SERVICES,
        replicas: Mapping[str, int] | None = None,
        log_dir: Path | None = None,
    ) -> None:
        self.env = {**os.environ, **env}
        self.services = list(services)
        self.replicas = dict(replicas or {})
        self.log_dir = log_dir
        self.procs: dict[str, list[subprocess.Popen[bytes]]] = {}

    def start_one(self, service: str) -> subprocess.Popen[bytes]:
        index = len(self.procs.get(service, []))
        env = {**self.env, "WIREDESK_CONSUMER": f"{service}-{index}-{os.getpid()}-{time.time_ns()}"}
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            out = (self.log_dir / f"{service}-{index}.log").open("ab")
        else:
            out = subprocess.DEVNULL  # type: ignore[assignment]
        proc = subprocess.Popen(
            [sys.executable, "-m", "wiredesk", "run", service],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        self.procs.setdefault(service, []).append(proc)
        return proc

    def start(self) -> ServiceProcesses:
        for service in self.services:
            for _ in range(self.replicas.get(service, 1)):
                self.start_one(service)
        return self

    def alive(self) -> dict[str, int]:
        return {s: sum(p.poll() is None for p in ps) for s, ps in self.procs.items()}

    def exit_codes(self) -> dict[str, list[int | None]]:
        return {s: [p.poll() for p in ps] for s, ps in self.procs.items()}

    def stop(self, *, timeout: float = 20.0) -> dict[str, list[int | None]]:
        """SIGTERM everyone, wait for graceful exits, SIGKILL stragglers; return exit codes."""
        everyone = [p for ps in self.procs.values() for p in ps]
        for proc in everyone:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in everyone:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return {s: [p.returncode for p in ps] for s, ps in self.procs.items()}

    def __enter__(self) -> ServiceProcesses:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
