"""Where ``promtool`` comes from: the host's (Debian package ``prometheus``), else the
``wiredesk-prometheus`` image (built from Debian's package when missing), else a skip."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.conftest import ROOT
from wiredesk import testing

MONITORING = ROOT / "deploy" / "monitoring"


def promtool(*args: str, mount: Path = MONITORING, timeout: float = 120) -> str:
    """Run ``promtool ARGS`` with ``mount`` at /m (paths in ARGS are under /m); return its output.

    Fails the test with promtool's output when it exits non-zero.
    """
    host = shutil.which("promtool")
    if host is not None:
        command: Sequence[str] = [host, *(a.replace("/m/", f"{mount}/") for a in args)]
    else:
        ok, reason = testing.docker_available()
        if not ok:
            pytest.skip(f"no promtool on PATH and {reason}")
        if not testing.image_exists(testing.PROMETHEUS_IMAGE):
            testing.ensure_images(services=["prometheus"])
        command = [
            "docker", "run", "--rm", "--network=none",
            "-v", f"{mount}:/m:ro", "--entrypoint", "promtool",
            testing.PROMETHEUS_IMAGE, *args,
        ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"promtool {' '.join(args)} failed:\n{output}"
    return output
