"""The read side against a live pipeline: API and CLI answers must match the streams.

Seeds and the OneStopEnglish dev set go through ingest, dedupe and store (separate processes)
plus ``wiredesk run api``; then every story the API and the CLI report is checked against what
dedupe published: story count, members, canonical article, one unique entry per story.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from redis.asyncio import Redis

from tests.conftest import DEV_SET, ROOT, SEEDS
from tests.e2e.helpers import drained, service_logs, wait_until
from tests.pg import backend_url, pg_server_url, pg_url  # noqa: F401
from wiredesk.app.files import read_articles
from wiredesk.app.launcher import ServiceProcesses
from wiredesk.embedded import free_port
from wiredesk.replay import publish
from wiredesk.settings import WiredeskSettings

pytestmark = pytest.mark.e2e

SERVICES = ("ingest", "dedupe", "store", "api")


@pytest.fixture
def env(service_env: dict[str, str], backend_url: str) -> dict[str, str]:  # noqa: F811
    return {
        **service_env,
        "WIREDESK_DATABASE_URL": backend_url,
        "WIREDESK_API_PORT": str(free_port()),
    }


@pytest.fixture
def pipeline(env: dict[str, str], tmp_path: Path) -> Iterator[ServiceProcesses]:
    services = ServiceProcesses(env, services=SERVICES, log_dir=tmp_path / "logs").start()
    try:
        yield services
    finally:
        codes = services.stop()
    assert codes == {s: [0] for s in SERVICES}, service_logs(tmp_path / "logs")


def cli(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "wiredesk", *args],
        cwd=ROOT,
        env={**os.environ, **env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


async def test_api_and_cli_answer_what_the_streams_say(
    pipeline: ServiceProcesses,
    aredis: Redis,
    settings: WiredeskSettings,
    env: dict[str, str],
) -> None:
    assert DEV_SET.is_file(), f"dev set missing: {DEV_SET}"
    streams = settings.streams
    articles = [
        *read_articles([SEEDS], source="seeds"),
        *read_articles([DEV_SET], source="onestopenglish"),
    ]
    await publish(aredis, streams.raw, articles)
    api = httpx.AsyncClient(base_url=f"http://127.0.0.1:{env['WIREDESK_API_PORT']}", timeout=10)

    async def settled() -> bool:
        for stream, group in (
            (streams.raw, "ingest"),
            (streams.normalized, "dedupe"),
            (streams.annotated, "store"),
        ):
            if not await drained(aredis, stream, group):
                return False
        try:
            return (await api.get("/readyz")).status_code == 200
        except httpx.TransportError:
            return False

    await wait_until(settled, timeout=180, what="pipeline drained, api ready", services=pipeline)

    members: dict[str, list[str]] = defaultdict(list)
    canonical: dict[str, str] = {}
    for _, fields in await aredis.xrange(streams.annotated):
        doc = orjson.loads(fields[b"data"])
        members[doc["story_id"]].append(doc["id"])
        canonical[doc["story_id"]] = doc["canonical_id"]
    unique = [orjson.loads(f[b"data"])["story_id"] for _, f in await aredis.xrange(streams.unique)]
    assert sorted(unique) == sorted(members)  # each story exactly once on the unique stream
    assert len(members) < len(articles)  # the dev set's versions of one text were grouped
    seed_ids = {a.id for a in articles if a.source == "seeds"}
    (seed_story,) = {s for s, ids in members.items() if seed_ids & set(ids)}
    assert set(members[seed_story]) == seed_ids  # one story of five; no dev article joined it

    listed: list[dict[str, object]] = []
    offset: int | None = 0
    while offset is not None:
        page = (await api.get("/stories", params={"limit": 100, "offset": offset})).json()
        listed.extend(page["items"])
        offset = page["next_offset"]
    assert page["total"] == len(members) == len(listed)
    assert {str(s["story_id"]) for s in listed} == set(members)
    for story in listed:
        story_id = str(story["story_id"])
        assert story["size"] == len(members[story_id])
        assert story["canonical_id"] == canonical[story_id]
    sample = sorted(members, key=lambda s: -len(members[s]))[:5]
    for story_id in sample:
        detail = (await api.get(f"/stories/{story_id}")).json()
        assert [m["id"] for m in detail["members"]] == members[story_id]
        article = (await api.get(f"/articles/{members[story_id][-1]}")).json()
        assert article["story_id"] == story_id
    await api.aclose()

    lines = cli(env, "stories", "--json", "--limit", "100000").splitlines()
    from_cli = {orjson.loads(line)["story_id"]: orjson.loads(line) for line in lines}
    assert {k: v["size"] for k, v in from_cli.items()} == {k: len(v) for k, v in members.items()}
    shown = orjson.loads(cli(env, "story", sample[0], "--json"))
    assert [m["id"] for m in shown["members"]] == members[sample[0]]
    assert shown["canonical_id"] == canonical[sample[0]]
    table = cli(env, "stories", "--limit", "5")
    assert "canonical title" in table
