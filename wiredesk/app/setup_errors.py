"""Errors that mean "something is not installed": the CLI prints them as one line, exit code 2.

A traceback for a missing package says nothing a user can act on; these exceptions carry the
install command in their message (wiredesk/embedded.py, services/dedupe/model_package.py).
"""

from __future__ import annotations

from services.dedupe.model_package import (
    EncoderNotInstalledError,
    GraphNotBuiltError,
    ModelNotInstalledError,
)
from wiredesk.embedded import RedisServerNotFoundError

SETUP_ERRORS: tuple[type[Exception], ...] = (
    ModelNotInstalledError,
    GraphNotBuiltError,
    EncoderNotInstalledError,
    RedisServerNotFoundError,
)
