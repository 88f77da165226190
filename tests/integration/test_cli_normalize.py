"""``wiredesk normalize``: the ingest logic on files, one Article JSON per line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.conftest import ROOT, SEEDS
from wiredesk.messages import Article


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wiredesk", "normalize", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_seeds_become_one_valid_article_each_with_chrome_stripped() -> None:
    result = run(str(SEEDS))
    assert result.returncode == 0, result.stderr
    articles = [Article.model_validate(orjson.loads(line)) for line in result.stdout.splitlines()]
    assert [a.url for a in articles] == sorted(p.name for p in SEEDS.glob("*.txt"))
    first = articles[0]
    assert "JOIN US ON TELEGRAM" not in first.text
    assert "Advertisement" not in first.text
    assert first.published_at is not None


@pytest.mark.parametrize(("content", "code", "message"), [("Too short.", 1, "too-short")])
def test_articles_ingest_would_reject_are_reported_with_their_reason(
    tmp_path: Path, content: str, code: int, message: str
) -> None:
    path = tmp_path / "short.txt"
    path.write_text(content)
    result = run(str(path))
    assert result.returncode == code
    assert message in result.stderr
    assert result.stdout == ""


def test_wire_formats_are_read_by_content_and_non_text_is_reported() -> None:
    formats = ROOT / "tests" / "fixtures" / "formats"
    result = run(
        str(formats / "ninjs" / "3.0" / "dpa_text.json"),
        str(formats / "ninjs" / "3.0" / "ap_image.json"),
        str(formats / "feeds" / "wire-rss2.xml"),
    )
    assert result.returncode == 1  # the picture is not an article
    assert "not-text" in result.stderr
    articles = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert [a["schema"] for a in articles] == ["article.v2"] * 3
    assert [a["format"] for a in articles] == ["ninjs-3.0", "rss", "rss"]
    assert articles[0]["guid"] == "urn:newsml:dpa.com:20090101:190510-99-167362"
    assert articles[0]["lang"] == "de"
