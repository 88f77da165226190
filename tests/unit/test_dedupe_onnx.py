"""The ONNX Runtime forward pass computes what the numpy reference computes, from the graph
file built once (``python -m services.dedupe.graph_build``) as from the graph built in process."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from services.dedupe import graph_build
from services.dedupe.embedding import MiniLMEncoder, default_model_dir
from services.dedupe.model_package import GRAPH_ENV, GraphNotBuiltError, graph_path
from services.dedupe.onnx_bert import (
    GRAPH_VERSION,
    bert_graph,
    sidecar_path,
    stale_reason,
    weights_sha256,
)
from services.dedupe.settings import DedupeSettings

TEXTS = [
    "Russia began withdrawing forces from its Hmeimim air base in Syria on Monday.",
    "TARTOUS: A convoy of Russian military vehicles was seen leaving the port.",
    "The weather is lovely today.",
    "Short",
    "Kyiv (Reuters) - " + "The council voted to extend the programme by a further year. " * 12,
]


@pytest.fixture(scope="module")
def encoders() -> tuple[MiniLMEncoder, MiniLMEncoder]:
    return MiniLMEncoder(backend="numpy"), MiniLMEncoder(backend="onnx")


def test_onnx_vectors_equal_numpy_vectors(encoders: tuple[MiniLMEncoder, MiniLMEncoder]) -> None:
    reference, fast = encoders
    # mixed lengths in one batch: padding and the attention mask must match too
    expected = reference.encode(TEXTS, batch_size=4, max_tokens=96)
    got = fast.encode(TEXTS, batch_size=4, max_tokens=96)
    assert got.shape == expected.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(got, expected, atol=2e-5)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_padding_does_not_change_a_vector(encoders: tuple[MiniLMEncoder, MiniLMEncoder]) -> None:
    _, fast = encoders
    alone = fast.encode(TEXTS[2:3])
    padded = fast.encode(TEXTS, batch_size=len(TEXTS))[2:3]
    np.testing.assert_allclose(alone, padded, atol=2e-5)


def test_graph_is_a_valid_onnx_model(encoders: tuple[MiniLMEncoder, MiniLMEncoder]) -> None:
    model = bert_graph(encoders[0].weights())
    assert [i.name for i in model.graph.input] == ["input_ids", "attention_mask"]
    assert [o.name for o in model.graph.output] == ["embedding"]
    assert sum(node.op_type == "LayerNormalization" for node in model.graph.node) == 13


def test_unknown_backend_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown embedding backend"):
        MiniLMEncoder(backend="torch")  # type: ignore[arg-type]


def test_the_onnx_backend_releases_the_numpy_weights(
    encoders: tuple[MiniLMEncoder, MiniLMEncoder],
) -> None:
    with pytest.raises(RuntimeError, match="keeps no numpy weights"):
        encoders[1].weights()


# --- the prebuilt graph (python -m services.dedupe.graph_build) ------------------------------


@pytest.fixture(scope="module")
def prebuilt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("graph") / "minilm-l6-v2.onnx"
    assert graph_build.main(["--out", str(out)]) == 0
    return out


def _copy(graph: Path, to: Path) -> Path:
    to.mkdir(parents=True, exist_ok=True)
    shutil.copy(graph, to / graph.name)
    shutil.copy(sidecar_path(graph), sidecar_path(to / graph.name))
    return to / graph.name


def test_the_prebuilt_file_is_the_in_process_graph(
    prebuilt: Path, encoders: tuple[MiniLMEncoder, MiniLMEncoder]
) -> None:
    # byte for byte: a rebuild of the same weights gives the same file (reproducible images)
    assert prebuilt.read_bytes() == bert_graph(encoders[0].weights()).SerializeToString()
    sidecar = json.loads(sidecar_path(prebuilt).read_text())
    assert sidecar["graph_sha256"] == hashlib.sha256(prebuilt.read_bytes()).hexdigest()
    assert sidecar["weights_sha256"] == weights_sha256(default_model_dir())
    assert stale_reason(prebuilt, default_model_dir()) is None


def test_the_loaded_prebuilt_graph_gives_the_in_process_vectors(
    prebuilt: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    loaded = MiniLMEncoder(graph=prebuilt, threads=1)
    assert loaded.graph == prebuilt
    with caplog.at_level(logging.WARNING, logger="services.dedupe.embedding"):
        in_process = MiniLMEncoder(graph=tmp_path / "absent.onnx", threads=1)
    assert in_process.graph is None
    assert "python -m services.dedupe.graph_build" in caplog.text
    assert "no such file" in caplog.text
    expected = in_process.encode(TEXTS, batch_size=4, max_tokens=96)
    np.testing.assert_array_equal(loaded.encode(TEXTS, batch_size=4, max_tokens=96), expected)


WITHOUT_ONNX = """
import sys
sys.modules["onnx"] = None
import numpy as np
from services.dedupe.embedding import MiniLMEncoder
encoder = MiniLMEncoder(threads=1)
assert encoder.graph is not None, "not the prebuilt graph"
np.save(sys.argv[1], encoder.encode(sys.argv[2:], batch_size=4, max_tokens=96))
assert sys.modules["onnx"] is None and "onnx.helper" not in sys.modules
"""


def test_a_process_without_onnx_loads_the_prebuilt_graph_and_embeds(
    prebuilt: Path, tmp_path: Path, encoders: tuple[MiniLMEncoder, MiniLMEncoder]
) -> None:
    out = tmp_path / "vectors.npy"
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_ONNX, str(out), *TEXTS],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, GRAPH_ENV: str(prebuilt)},
    )
    assert result.returncode == 0, result.stderr
    reference = encoders[0].encode(TEXTS, batch_size=4, max_tokens=96)
    np.testing.assert_allclose(np.load(out), reference, atol=2e-5)


def test_a_missing_graph_without_onnx_is_a_one_line_setup_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)
    monkeypatch.setenv(GRAPH_ENV, str(tmp_path / "absent.onnx"))
    with pytest.raises(GraphNotBuiltError) as caught:
        MiniLMEncoder(threads=1)
    message = str(caught.value)
    assert "\n" not in message
    assert str(tmp_path / "absent.onnx") in message
    assert "no such file" in message
    assert "`python -m services.dedupe.graph_build`" in message
    assert "WIREDESK_EMBED_BACKEND=numpy" in message


def _other_weights(sidecar: dict[str, Any]) -> None:
    sidecar["weights_sha256"]["model.safetensors"] = "0" * 64


def _older_code(sidecar: dict[str, Any]) -> None:
    sidecar["graph_version"] = GRAPH_VERSION - 1


@pytest.mark.parametrize(
    ("edit", "reason"),
    [(_other_weights, "built from other weights"), (_older_code, "graph version 0")],
)
def test_a_stale_sidecar_is_rebuilt_with_onnx_and_refused_without(
    prebuilt: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    edit: Callable[[dict[str, Any]], None],
    reason: str,
) -> None:
    graph = _copy(prebuilt, tmp_path)
    sidecar = json.loads(sidecar_path(graph).read_text())
    edit(sidecar)
    sidecar_path(graph).write_text(json.dumps(sidecar))
    stale = stale_reason(graph, default_model_dir())
    assert stale is not None
    assert reason in stale
    with caplog.at_level(logging.WARNING, logger="services.dedupe.embedding"):
        rebuilt = MiniLMEncoder(graph=graph, threads=1)
    assert rebuilt.graph is None  # built in process, the stale file unused
    assert reason in caplog.text
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(GraphNotBuiltError, match=reason):
        MiniLMEncoder(graph=graph, threads=1)


def test_a_damaged_or_unpaired_graph_file_is_stale(prebuilt: Path, tmp_path: Path) -> None:
    model = default_model_dir()
    truncated = _copy(prebuilt, tmp_path / "truncated")
    truncated.write_bytes(truncated.read_bytes()[:-1000])
    assert "sha256" in (stale_reason(truncated, model) or "")
    unpaired = _copy(prebuilt, tmp_path / "unpaired")
    sidecar_path(unpaired).unlink()
    assert "no sidecar" in (stale_reason(unpaired, model) or "")
    garbled = _copy(prebuilt, tmp_path / "garbled")
    sidecar_path(garbled).write_text("{not json")
    assert "unreadable sidecar" in (stale_reason(garbled, model) or "")
    assert graph_build.main(["--check", "--out", str(truncated)]) == 1
    assert graph_build.main(["--check", "--out", str(prebuilt)]) == 0


def test_the_default_graph_path_and_its_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(GRAPH_ENV, raising=False)
    assert graph_path() == Path(sys.prefix) / "share" / "wiredesk" / "minilm-l6-v2.onnx"
    monkeypatch.setenv(GRAPH_ENV, str(tmp_path / "g.onnx"))
    assert graph_path() == tmp_path / "g.onnx"
    assert DedupeSettings().model_graph == tmp_path / "g.onnx"
