"""A downstream project's integration tests: only `wiredesk.testing` is imported from wiredesk.

This is the usage the README documents: a Redis per module from a fixture factory, and the whole
pipeline via `pipeline_stack()`, publishing raw.v1 entries and waiting on articles:unique.
"""

from __future__ import annotations

import json

import pytest
import redis

from wiredesk.testing import RAW, UNIQUE, docker_available, pipeline_stack, redis_fixture

DOCKER, WHY_NOT = docker_available()
pytestmark = [
    pytest.mark.docker,
    pytest.mark.timeout(900),
    pytest.mark.skipif(not DOCKER, reason=WHY_NOT or "docker available"),
]

kit_redis_url = redis_fixture(scope="module", name="kit_redis_url")

STORIES = {
    "harbour": (
        "The city council voted on Tuesday to rebuild the old harbour wall after winter storms "
        "damaged it. Work will start in spring and last two years, the mayor said, and fishing "
        "boats will moor at the northern pier until the new wall is finished."
    ),
    "library": (
        "A village library that closed ten years ago has reopened after volunteers raised money "
        "to repair its roof. The shelves hold donated books, a reading group meets on Fridays, "
        "and children from the school next door visit every week to borrow stories."
    ),
}


def raw_entry(article_id: str, body: str) -> dict[str, str]:
    """A raw.v1 entry as any producer writes it (see schemas/raw.v1.json)."""
    doc = {"schema": "raw.v1", "id": article_id, "source": "downstream", "url": article_id}
    return {"schema": "raw.v1", "data": json.dumps({**doc, "body": body})}


def test_redis_fixture_gives_a_live_redis(kit_redis_url: str) -> None:
    client = redis.Redis.from_url(kit_redis_url)
    client.xadd(RAW, raw_entry("a", STORIES["harbour"]))  # type: ignore[arg-type]
    assert client.xlen(RAW) == 1
    assert client.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
    client.close()


def test_pipeline_stack_turns_raw_articles_into_unique_stories() -> None:
    with pipeline_stack() as stack:
        client = redis.Redis.from_url(stack.redis_url)
        for name, body in STORIES.items():
            client.xadd(RAW, raw_entry(name, body))  # type: ignore[arg-type]
            client.xadd(RAW, raw_entry(f"{name}-copy", body))  # type: ignore[arg-type]
        client.close()
        from wiredesk.testing import wait_for_unique

        unique = wait_for_unique(stack.redis_url, 2, timeout=120)
        assert sorted(doc["id"] for doc in unique) == ["harbour", "library"]
        assert stack.api_url.startswith("http://")
    assert UNIQUE == "articles:unique"
