"""Replay input: stable ids, the supported file types, and clear errors for bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import SEEDS
from wiredesk.app.files import ReplayInputError, read_articles, stable_id


def test_seed_folder_yields_the_five_seed_files_in_name_order() -> None:
    articles = list(read_articles([SEEDS], source="seeds"))
    assert [a.url for a in articles] == sorted(p.name for p in SEEDS.glob("*.txt"))
    assert len(articles) == 5


def test_ids_are_stable_across_reads_and_depend_on_the_body() -> None:
    first = [a.id for a in read_articles([SEEDS], source="seeds")]
    again = [a.id for a in read_articles([SEEDS], source="seeds")]
    assert first == again
    assert len(set(first)) == 5
    assert stable_id("s", "u", "body") != stable_id("s", "u", "body!")


def test_jsonl_uses_the_producers_id_and_text(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    path.write_text('{"id": "p1", "text": "hello world", "title": "T"}\n\n{"body": "b"}\n')
    articles = list(read_articles([path], source="feed"))
    assert articles[0].id == "p1"
    assert articles[0].title == "T"
    assert articles[1].id == stable_id("feed", "feed.jsonl#3", "b")


def test_html_files_are_marked_as_html(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text("<html><body><p>x</p></body></html>")
    (article,) = read_articles([path], source="web")
    assert article.content_type == "text/html"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.jsonl", "{oops\n", "invalid JSON"),
        ("bad.jsonl", '{"id": "x"}\n', "needs a string"),
        ("bad.pdf", "x", "unsupported file type"),
    ],
)
def test_bad_files_raise_a_clear_error(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ReplayInputError, match=message):
        list(read_articles([path], source="x"))


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ReplayInputError, match="no such file"):
        list(read_articles([tmp_path / "nope.txt"], source="x"))
