"""The cascade's verdicts, and the window index that feeds it."""

from __future__ import annotations

from services.dedupe.cascade import Thresholds, decide
from services.dedupe.index import Record, StoryIndex
from services.dedupe.minhash import MinHasher
from wiredesk.messages import Method

HASHER = MinHasher(128)
BASE = (
    "Russia is pulling back its military from the front lines in northern Syria and from posts "
    "in the Alawite Mountains but is not leaving its two main bases in the country after the "
    "fall of President Bashar al-Assad, four Syrian officials said on Saturday."
)


def record(
    article_id: str, text: str, *, story: str | None = None, sha: str = "", ms: int = 0
) -> Record:
    return Record(article_id, story or article_id, sha or article_id, HASHER.signature(text), ms)


def verdict_for(text: str, sha: str, index: StoryIndex):  # type: ignore[no-untyped-def]
    return decide(
        article_id="new",
        text_sha256=sha,
        signature=HASHER.signature(text),
        index=index,
        thresholds=Thresholds(near=0.5),
    )


def test_same_fingerprint_is_an_exact_duplicate() -> None:
    index = StoryIndex(bands=32)
    index.add(record("a", BASE, sha="h1"))
    verdict = verdict_for("whatever", "h1", index)
    assert (verdict.method, verdict.story_id, verdict.duplicate_of, verdict.score) == (
        Method.EXACT,
        "a",
        "a",
        1.0,
    )


def test_a_copy_with_extra_chrome_is_a_near_duplicate() -> None:
    index = StoryIndex(bands=32)
    index.add(record("a", BASE))
    verdict = verdict_for(BASE + " Advertisement. Subscribe to our newsletter.", "h2", index)
    assert verdict.method == Method.NEAR
    assert verdict.duplicate_of == "a"
    assert 0.5 <= verdict.score < 1.0


def test_unrelated_text_starts_a_new_story() -> None:
    index = StoryIndex(bands=32)
    index.add(record("a", BASE))
    verdict = verdict_for(
        "Silver futures slumped on Wednesday as traders cut bets on demand.", "h3", index
    )
    assert (verdict.method, verdict.story_id, verdict.duplicate_of) == (Method.NEW, "new", None)


def test_joining_article_takes_the_story_of_its_match_not_its_id() -> None:
    index = StoryIndex(bands=32)
    index.add(record("b", BASE, story="story-a"))
    assert verdict_for(BASE, "other", index).story_id == "story-a"


def test_eviction_forgets_old_articles_everywhere() -> None:
    index = StoryIndex(bands=32)
    index.add(record("old", BASE, sha="h1", ms=1))
    index.add(record("new", "something else entirely here", sha="h2", ms=100))
    assert index.evict_older_than(50) == 1
    assert "old" not in index and len(index) == 1
    assert index.exact("h1") is None
    assert index.nearest(HASHER.signature(BASE)) is None
    assert index.members("old") == []
