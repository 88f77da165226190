"""``wiredesk eval``: both formats through the real dedupe stage on a real Redis."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.conftest import ROOT, SEEDS

pytestmark = pytest.mark.integration

SEED_TEXTS = [p.read_text() for p in sorted(SEEDS.glob("*.txt"))]
OTHER = (
    "Silver futures on Wednesday slumped by Rs 190 to Rs 46,521 per kg as participants cut down "
    "their bets on low spot demand. On the Multi Commodity Exchange, silver contracts for March "
    "delivery tumbled Rs 190, or 0.41 per cent, in a business turnover of 1,247 lots."
)


def run_eval(path: Path, redis_url: str, *extra: str) -> dict[str, object]:
    env = {**os.environ, "REDIS_URL": redis_url}
    result = subprocess.run(
        [sys.executable, "-m", "wiredesk", "eval", str(path), *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return orjson.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_clusters_format_reports_partition_metrics_and_writes_assignments(
    tmp_path: Path, redis_url: str
) -> None:
    rows = [
        {"id": "s0", "text": SEED_TEXTS[2], "story": "syria"},
        {"id": "s0-copy", "text": SEED_TEXTS[2], "story": "syria"},
        {
            "id": "s0-chrome",
            "text": SEED_TEXTS[2] + "\n\nAdvertisement\n\nShare this story",
            "story": "syria",
        },
        {"id": "silver", "text": OTHER, "story": "silver"},
    ]
    data = tmp_path / "clusters.jsonl"
    data.write_bytes(b"\n".join(orjson.dumps(r) for r in rows))
    out = tmp_path / "assignments.jsonl"
    metrics = run_eval(data, redis_url, "--assignments", str(out))
    assert metrics["format"] == "clusters"
    assert metrics["ari"] == 1.0
    assert metrics["predicted_stories"] == 2
    written = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert {w["id"] for w in written} == {r["id"] for r in rows}
    story = {w["id"]: w["story_id"] for w in written}
    assert story["s0"] == story["s0-copy"] == story["s0-chrome"] != story["silver"]


def test_pairs_format_reports_classification_metrics(tmp_path: Path, redis_url: str) -> None:
    rows = [
        {
            "a": {"id": "a1", "text": SEED_TEXTS[2]},
            "b": {"id": "b1", "text": SEED_TEXTS[2] + " More."},
            "overall": 1.0,
        },
        {
            "a": {"id": "a2", "text": SEED_TEXTS[0]},
            "b": {"id": "b2", "text": OTHER},
            "overall": 4.0,
        },
        {
            "a": {"id": "a3", "text": SEED_TEXTS[1]},
            "b": {"id": "b3", "text": OTHER + " x"},
            "overall": 2.0,
        },
    ]
    data = tmp_path / "pairs.jsonl"
    data.write_bytes(b"\n".join(orjson.dumps(r) for r in rows))
    metrics = run_eval(data, redis_url)
    assert (metrics["positives"], metrics["negatives"]) == (1, 1)  # overall 2.0 is left out
    assert metrics["f1"] == 1.0
    assert metrics["auc"] == 1.0


def test_unknown_format_is_a_clear_error(tmp_path: Path) -> None:
    data = tmp_path / "x.jsonl"
    data.write_text('{"foo": 1}\n')
    result = subprocess.run(
        [sys.executable, "-m", "wiredesk", "eval", str(data)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "neither clusters" in result.stderr
