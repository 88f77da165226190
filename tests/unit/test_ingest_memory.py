"""Per-source boilerplate memory: lines repeated across a source's articles are removed."""

from __future__ import annotations

from services.ingest.memory import BoilerplateMemory, InMemoryLineCounts
from services.ingest.normalize import normalize
from wiredesk.messages import RawArticle

SLOGAN = "Harbour Daily is an independent newsroom serving the coast since 1921."


def story(n: int) -> str:
    return (
        f"Story number {n} reports that the harbour council met on day {n} to discuss "
        f"dredging, budgets and ferry timetables for the coming season, officials said.\n\n"
        f"{SLOGAN}\n\n"
        f"The council will meet again next month to vote on the plan {n}, a spokeswoman "
        f"said, adding that residents may comment until the end of the week."
    )


def raw(n: int, source: str = "harbour") -> RawArticle:
    return RawArticle(id=f"a{n}", source=source, url=f"https://h.example/{n}", body=story(n))


def test_a_line_becomes_boilerplate_after_min_articles() -> None:
    memory = BoilerplateMemory(InMemoryLineCounts(), min_articles=3)
    results = [normalize(raw(n), memory=memory) for n in range(5)]
    assert [SLOGAN in a.text for a in results] == [True, True, True, False, False]
    assert results[3].stripped[-1].kind == "source-boilerplate"
    assert results[3].text.startswith("Story number 3")


def test_memory_is_per_source() -> None:
    memory = BoilerplateMemory(InMemoryLineCounts(), min_articles=2)
    for n in range(3):
        normalize(raw(n), memory=memory)
    assert SLOGAN in normalize(raw(9, source="other-site"), memory=memory).text


def test_long_paragraphs_are_never_boilerplate() -> None:
    memory = BoilerplateMemory(InMemoryLineCounts(), min_articles=1, max_words=10)
    paragraph = " ".join(["word"] * 11)
    for _ in range(3):
        verdicts = memory.observe("s", [paragraph])
    assert verdicts == [False]


def test_a_line_repeated_inside_one_article_counts_once() -> None:
    memory = BoilerplateMemory(InMemoryLineCounts(), min_articles=2)
    assert memory.observe("s", ["Subscribe", "Subscribe"]) == [False, False]
    assert memory.observe("s", ["Subscribe"]) == [False]
    assert memory.observe("s", ["Subscribe"]) == [True]


def test_spelling_variants_share_a_key() -> None:
    memory = BoilerplateMemory(InMemoryLineCounts())
    assert memory.keys(["“Quoted” — Line"]) == memory.keys(['"quoted"  - line'])


def test_store_is_bounded() -> None:
    store = InMemoryLineCounts(max_lines_per_source=2)
    store.add("s", ["a", "b", "c"])
    assert store.get("s", ["a", "b", "c"]) == [0, 1, 1]
