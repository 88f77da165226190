"""The compose `postgres` profile as docs/deploy.md describes it: the store and the read API on
PostgreSQL (Debian's 15, built locally), seeds through the stack, the rows in PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import SEEDS
from tests.deploy.helpers import api_members, api_stories, settled, stored_count, wait_for
from wiredesk.testing import ComposeStack, ensure_images

pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]

DATABASE_URL = "postgresql://wiredesk:wiredesk@postgres:5432/wiredesk"


@pytest.fixture(scope="module")
def postgres_stack(images: float) -> Iterator[ComposeStack]:
    ensure_images(services=["postgres"])
    stack = ComposeStack(env={"COMPOSE_PROFILES": "postgres", "DATABASE_URL": DATABASE_URL})
    try:
        # The store does not depend_on postgres (a profile may be off); it restarts until
        # PostgreSQL accepts connections, so bring PostgreSQL up first, as the docs advise.
        stack.up("postgres")
        yield stack.up()
    finally:
        stack.down(volumes=True)


def test_seeds_are_stored_in_postgresql(postgres_stack: ComposeStack) -> None:
    stack = postgres_stack
    stack.replay(SEEDS)
    url, api = stack.redis_url, stack.api_url
    wait_for(
        lambda: settled(url) and stored_count(api) == 5,
        what="the seeds in PostgreSQL",
        stack=stack,
        timeout=240,
    )
    stories = api_stories(api)
    assert len(stories) == 1
    assert len(api_members(api, stories[0]["story_id"])) == 5
    rows = stack.compose(
        "exec",
        "-T",
        "postgres",
        "psql",
        "-U",
        "wiredesk",
        "-d",
        "wiredesk",
        "-tAc",
        "SELECT count(*) FROM articles",
    ).stdout.strip()
    assert rows == "5"  # the API read them from PostgreSQL, not from a SQLite file
