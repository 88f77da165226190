"""The deploy tests drive real containers; without a Docker Engine they skip, saying why."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from wiredesk.testing import ComposeStack, docker_available, ensure_images


@pytest.fixture(scope="session")
def images() -> float:
    """Base image (made locally when missing) and the stack's images; returns the seconds spent.

    Always runs `compose build`: with the layer cache it takes seconds, and it makes sure the
    containers run this checkout's code.
    """
    ok, reason = docker_available()
    if not ok:
        pytest.skip(reason)
    started = time.monotonic()
    ensure_images()
    return time.monotonic() - started


@pytest.fixture
def fresh_stack(images: float) -> Iterator[ComposeStack]:
    """A stack of its own (own project, own volumes), removed with its volumes afterwards."""
    stack = ComposeStack()
    try:
        yield stack.up()
    finally:
        stack.down(volumes=True)
