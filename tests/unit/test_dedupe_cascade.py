"""The cascade's verdicts, the window index, and the canonical choice, on hand-made features."""

from __future__ import annotations

import numpy as np

from services.dedupe.cascade import Thresholds, canonical, combined_score, decide, pair_scores
from services.dedupe.features import Features, Terms, lexical_cosine
from services.dedupe.index import Record, StoryIndex
from services.dedupe.minhash import MinHasher
from wiredesk.messages import Method

HASHER = MinHasher(128)
T = Thresholds(near=0.5, semantic=0.52, lexical=0.20)
BASE = (
    "Russia is pulling back its military from the front lines in northern Syria and from posts "
    "in the Alawite Mountains but is not leaving its two main bases in the country after the "
    "fall of President Bashar al-Assad, four Syrian officials said on Saturday."
)


def unit(*values: float) -> np.ndarray:
    vector = np.zeros(384, dtype=np.float32)
    vector[: len(values)] = values
    return vector / np.linalg.norm(vector)


def features(
    text: str,
    *,
    sha: str | None = None,
    vector: np.ndarray | None = None,
    terms: Terms | None = None,
) -> Features:
    return Features(sha or text, HASHER.signature(text), vector, terms)


def index_with(*records: Record) -> StoryIndex:
    index = StoryIndex(bands=32)
    for record in records:
        index.add(record)
    return index


def verdict(f: Features, *indexes: StoryIndex):  # type: ignore[no-untyped-def]
    return decide(article_id="new", features=f, indexes=list(indexes), thresholds=T)


def test_same_fingerprint_is_an_exact_duplicate() -> None:
    index = index_with(Record("a", "a", features(BASE, sha="h1"), 0))
    v = verdict(features("whatever else", sha="h1"), index)
    assert (v.method, v.story_id, v.duplicate_of, v.score) == (Method.EXACT, "a", "a", 1.0)


def test_a_copy_with_extra_chrome_is_a_near_duplicate() -> None:
    index = index_with(Record("a", "a", features(BASE), 0))
    v = verdict(features(BASE + " Advertisement. Subscribe to our newsletter."), index)
    assert (v.method, v.duplicate_of) == (Method.NEAR, "a")
    assert 0.5 <= v.score < 1.0
    assert v.evidence["jaccard"] == round(v.score, 4)


def test_a_rewrite_joins_when_embedding_and_words_both_agree() -> None:
    index = index_with(
        Record("a", "story-a", features("x", vector=unit(1, 0.3), terms={1: 0.6, 2: 0.8}), 0)
    )
    v = verdict(features("y", vector=unit(1, 0.4), terms={1: 0.6, 3: 0.8}), index)
    assert (v.method, v.story_id, v.duplicate_of) == (Method.SEMANTIC, "story-a", "a")
    assert v.evidence["lexical"] == 0.36
    assert v.evidence["combined"] >= 1.0


def test_same_topic_other_event_stays_apart_when_words_disagree() -> None:
    """High embedding similarity alone (one topic) must not merge two events."""
    index = index_with(Record("a", "a", features("x", vector=unit(1, 0.1), terms={1: 1.0}), 0))
    v = verdict(features("y", vector=unit(1, 0.1), terms={2: 1.0}), index)
    assert v.method == Method.NEW


def test_shared_boilerplate_words_alone_do_not_merge() -> None:
    index = index_with(Record("a", "a", features("x", vector=unit(1, 0), terms={1: 1.0}), 0))
    v = verdict(features("y", vector=unit(0, 1), terms={1: 1.0}), index)
    assert v.method == Method.NEW


def test_the_best_scoring_candidate_wins_by_the_weaker_score() -> None:
    strong_words = Record("a", "sa", features("x", vector=unit(1, 0.9), terms={1: 1.0}), 0)
    balanced = Record("b", "sb", features("z", vector=unit(1, 0.2), terms={1: 0.8, 2: 0.6}), 0)
    v = verdict(
        features("y", vector=unit(1, 0.1), terms={1: 0.8, 2: 0.6}),
        index_with(strong_words, balanced),
    )
    assert v.duplicate_of == "b"


def test_a_batch_index_is_consulted_like_the_window() -> None:
    window = StoryIndex(bands=32)
    batch = index_with(Record("b1", "b1", features(BASE), 0))
    assert verdict(features(BASE + " More."), window, batch).story_id == "b1"


def test_unrelated_text_starts_a_new_story_named_after_the_article() -> None:
    index = index_with(Record("a", "a", features(BASE, vector=unit(1), terms={1: 1.0}), 0))
    v = verdict(
        features("Silver futures slumped on Wednesday.", vector=unit(0, 1), terms={9: 1.0}), index
    )
    assert (v.method, v.story_id, v.duplicate_of) == (Method.NEW, "new", None)


def test_combined_score_reaches_one_exactly_at_both_thresholds() -> None:
    assert combined_score(0.52, 0.20, T) == 1.0
    assert combined_score(0.9, 0.19, T) < 1.0
    scores = pair_scores(
        features("a", vector=unit(1), terms={1: 1.0}),
        features("b", vector=unit(1), terms={1: 1.0}),
        T,
    )
    assert scores["semantic"] == 1.0 and scores["lexical"] == 1.0
    assert "semantic" not in pair_scores(features("a"), features("b"), T)


def test_canonical_is_the_member_closest_to_all_others() -> None:
    members = [
        ("drift-1", Features("1", HASHER.signature("a"), unit(1, 1, 0), {1: 1.0})),
        ("original", Features("2", HASHER.signature("b"), unit(1, 0.5, 0.5), {1: 0.7, 2: 0.7})),
        ("drift-2", Features("3", HASHER.signature("c"), unit(1, 0, 1), {2: 1.0})),
    ]
    assert canonical(members) == "original"
    assert canonical(members[:2]) == "drift-1"  # two members: the first seen


def test_eviction_forgets_old_articles_everywhere() -> None:
    index = StoryIndex(bands=32)
    index.add(Record("old", "old", features(BASE, sha="h1", vector=unit(1), terms={1: 1.0}), 1))
    index.add(Record("new", "new", features("something else entirely here", sha="h2"), 100))
    assert index.evict_older_than(50) == 1
    assert "old" not in index and len(index) == 1
    assert index.exact("h1") is None
    assert index.nearest(features(BASE)) is None
    assert index.semantic_candidates(unit(1), 0.5) == []
    assert index.members("old") == []


def test_freed_vector_rows_are_reused_without_resurrecting_old_matches() -> None:
    index = StoryIndex(bands=32)
    index.add(Record("old", "old", features("a", vector=unit(1)), 1))
    index.evict_older_than(50)
    index.add(Record("new", "new", features("b", vector=unit(0, 1)), 100))
    assert [m.record.article_id for m in index.semantic_candidates(unit(0, 1), 0.9)] == ["new"]
    assert index.semantic_candidates(unit(1), 0.5) == []


def test_canonical_prefers_agency_copy_with_a_dateline_over_a_more_central_rewrite() -> None:
    central = Features("1", HASHER.signature("a"), unit(1, 0.5, 0.5), {1: 0.7, 2: 0.7})
    wire = Features("2", HASHER.signature("b"), unit(1, 1, 0), {1: 1.0}, wire_copy=True)
    other = Features("3", HASHER.signature("c"), unit(1, 0, 1), {2: 1.0})
    assert canonical([("rewrite", central), ("wire", wire), ("other", other)]) == "wire"


def test_canonical_is_the_lexical_medoid_for_stories_of_any_size() -> None:
    """The linear-time medoid picks what summing every pairwise cosine picks."""
    rng = np.random.default_rng(7)
    for size in (3, 5, 12, 60):
        members = []
        for n in range(size):
            terms = {int(t): float(rng.random()) for t in rng.choice(40, size=8, replace=False)}
            norm = sum(w * w for w in terms.values()) ** 0.5
            terms = {t: w / norm for t, w in terms.items()}
            members.append((f"m{n}", Features(str(n), HASHER.signature(str(n)), None, terms)))
        totals = [
            sum(
                lexical_cosine(fi.terms or {}, fj.terms or {})
                for j, (_, fj) in enumerate(members)
                if j != i
            )
            for i, (_, fi) in enumerate(members)
        ]
        assert canonical(members) == members[int(np.argmax(totals))][0]


def test_canonical_needs_no_embeddings() -> None:
    copy_a = Features("1", HASHER.signature("a"), None, {1: 0.8, 2: 0.6})
    central = Features("2", HASHER.signature("b"), None, {1: 0.6, 2: 0.8})
    copy_b = Features("3", HASHER.signature("c"), None, {2: 0.6, 3: 0.8})
    assert canonical([("a", copy_a), ("central", central), ("b", copy_b)]) == "central"


def test_canonical_is_chosen_among_the_earliest_members_only() -> None:
    early = [
        (f"m{n}", Features(str(n), HASHER.signature(str(n)), None, {1: 1.0})) for n in range(64)
    ]
    late_wire = ("late", Features("x", HASHER.signature("x"), None, {1: 1.0}, wire_copy=True))
    assert canonical([*early, late_wire]) == "m0"  # the 65th member is not considered
    assert canonical([*early[:10], late_wire]) == "late"
