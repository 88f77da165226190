"""Acceptance: every text sample of the wire formats goes through ``wiredesk replay`` and the
running services into the store, with headline, body, language, guid and version.

Runs from a bare clone: the samples are the fixtures under tests/fixtures/formats (copied with
their licenses), never ../shared. Each file is replayed under its own source name, because
several IPTC samples are the same item (same uri and version) in different ninjs versions:
under one source they would rightly be one article.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from redis.asyncio import Redis

from services.ingest.formats import Rejected, parse_document
from services.ingest.normalize import NormalizationError, normalize
from services.store.sqlite import SqliteStore
from tests.conftest import ROOT
from tests.e2e.helpers import drained, wait_until
from wiredesk.app.launcher import ServiceProcesses
from wiredesk.settings import WiredeskSettings

pytestmark = pytest.mark.e2e

FORMATS = ROOT / "tests" / "fixtures" / "formats"
SAMPLES = sorted(p for p in FORMATS.rglob("*") if p.is_file() and p.suffix in (".json", ".xml"))


def source_of(path: Path) -> str:
    return str(path.relative_to(FORMATS)).replace("/", ":")


def expected_items() -> tuple[dict[str, str], int]:
    """(article id -> sample, number of dead letters replay itself writes)."""
    kept: dict[str, str] = {}
    rejected = 0
    for path in SAMPLES:
        for item in parse_document(path.read_bytes(), source=source_of(path), locator=path.name):
            if isinstance(item, Rejected):
                rejected += 1
                continue
            try:
                normalize(item)
            except NormalizationError:
                continue
            kept[item.id] = str(path.relative_to(FORMATS))
    return kept, rejected


async def test_every_text_sample_reaches_the_store_with_its_item_fields(
    pipeline: ServiceProcesses,
    aredis: Redis,
    settings: WiredeskSettings,
    service_env: dict[str, str],
) -> None:
    kept, rejected = expected_items()
    text_samples = {
        str(p.relative_to(FORMATS)) for p in SAMPLES if p.parent.name != "newsml-g2"
    } - {"ninjs/3.0/ap_image.json"}
    # every ninjs text sample and every feed yields stored articles, nothing is dropped
    assert text_samples <= set(kept.values()), text_samples - set(kept.values())
    env = {**os.environ, **service_env}
    for path in SAMPLES:
        result = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "wiredesk", "replay", str(path), "--source", source_of(path)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
    store = SqliteStore.from_url(service_env["WIREDESK_DATABASE_URL"])
    store.migrate()

    async def stored_all() -> bool:
        return store.count_articles() == len(kept)

    await wait_until(stored_all, timeout=120, what=f"{len(kept)} articles", services=pipeline)
    for article_id, sample in kept.items():
        row = store.article(article_id)
        assert row is not None, sample
        assert row.title, sample
        assert row.word_count > 0, sample
        assert store.article_text(article_id), sample
        assert row.language, sample
        assert row.version, sample
        assert row.format, sample
        if "LISTING_25" not in sample:  # a contentSet fragment: IPTC gives it no guid
            assert row.guid, sample
    by_sample = {kept[a]: store.article(a) for a in kept}
    dpa = by_sample["ninjs/3.0/dpa_text.json"]
    assert dpa is not None
    assert (dpa.guid, dpa.version, dpa.pub_status, dpa.language, dpa.lang) == (
        "urn:newsml:dpa.com:20090101:190510-99-167362",
        "2",
        "usable",
        "de",
        "de",
    )
    # what could not become an article is in the dead-letter stream with its reason
    await wait_until(lambda: drained(aredis, settings.streams.raw, "ingest"), what="ingest drained")
    letters = [orjson.loads(f[b"data"]) for _, f in await aredis.xrange(settings.streams.dlq)]
    reasons = [letter["reason"] for letter in letters]
    assert reasons.count("not-text") >= 3  # AP's picture, AP's video, the package item
    assert len([r for r in letters if r["stage"] == "replay"]) == rejected
    # each annotated entry is labelled with its payload's own version, for routers
    annotated = await aredis.xrange(settings.streams.annotated)
    assert annotated
    for _, fields in annotated:
        assert fields[b"schema"].decode() == orjson.loads(fields[b"data"])["schema"]
    assert any(fields[b"schema"] == b"annotated.v2" for _, fields in annotated)
