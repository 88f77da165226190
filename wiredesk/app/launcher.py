"""Starting the services as separate processes, the way a deployment runs them.

Used by ``wiredesk demo``, the end-to-end tests, the evaluation and the benchmark, so all of them
exercise the real process boundary (separate interpreters talking only through Redis). The crash
tests use :meth:`ServiceProcesses.kill_one` and :meth:`ServiceProcesses.restart_one` to kill a
replica the way an OOM killer or a lost node would (SIGKILL: no cleanup, nothing flushed).
"""

from __future__ import annotations

import os
import random
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
        self.consumers: dict[int, str] = {}  # pid -> the consumer name it reads as
        self.kills: dict[str, int] = {}

    def start_one(self, service: str) -> subprocess.Popen[bytes]:
        index = len(self.procs.get(service, []))
        consumer = f"{service}-{index}-{os.getpid()}-{time.time_ns()}"
        env = {**self.env, "WIREDESK_CONSUMER": consumer}
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
        self.consumers[proc.pid] = consumer
        return proc

    def live(self, service: str) -> list[subprocess.Popen[bytes]]:
        """The processes of a service that are still running."""
        return [p for p in self.procs.get(service, []) if p.poll() is None]

    def kill_one(
        self,
        service: str,
        *,
        sig: signal.Signals = signal.SIGKILL,
        rng: random.Random | None = None,
        wait: float = 30.0,
    ) -> subprocess.Popen[bytes] | None:
        """Send ``sig`` to one live replica of ``service`` (a random one with ``rng``) and reap it.

        Returns the process, or None when no replica was running. Waiting for the exit matters
        for SIGKILL too: the test must know the consumer is gone before it counts on reclaim.
        """
        victims = self.live(service)
        if not victims:
            return None
        proc = rng.choice(victims) if rng is not None else victims[0]
        proc.send_signal(sig)
        proc.wait(timeout=wait)
        self.kills[service] = self.kills.get(service, 0) + 1
        return proc

    def restart_one(
        self,
        service: str,
        *,
        sig: signal.Signals = signal.SIGKILL,
        rng: random.Random | None = None,
    ) -> subprocess.Popen[bytes]:
        """Kill one replica (if any runs) and start a fresh one, under a new consumer name."""
        self.kill_one(service, sig=sig, rng=rng)
        return self.start_one(service)

    def restarts(self) -> dict[str, int]:
        """Processes started beyond the first of each replica slot, per service."""
        return {s: max(0, len(ps) - self.replicas.get(s, 1)) for s, ps in self.procs.items()}

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
