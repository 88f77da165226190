"""A reproducible benchmark corpus: real texts, syndicated rewrites, ground truth. Pure.

Why synthetic at all: a benchmark needs any number of articles at a chosen duplicate rate, the
same ones on every run (so two machines or two commits compare like with like), and the truth of
which story each article belongs to. Why real texts underneath: tokenization, shingling, language
detection and chrome stripping cost what they cost on real prose, not on lorem ipsum.

How it is built:

- *Bases* are real texts: one per story of the dev set (the advanced level, since the levels of
  one story are rewrites of each other) or, without the dev set, the five seeds.
- The first stories use the bases whole. When more stories are needed than there are bases
  (10k or 100k articles), a story is a *collage* of real sentences drawn from the pool of all
  base sentences, with its own content words: each word of four or more letters outside a
  short list of function words is replaced, consistently within the story and with probability
  one half, by a word drawn from the 20,000 most frequent English words (``wordfreq``), numbers
  by other numbers. Why: distinct wire stories share grammar and common words but not their
  names, places and topic words. Plain collages of one small pool shared whole sentences with
  each other, so the dedupe stage saw many lexical candidates (and false merges) that real
  distinct stories do not produce: on OneStopEnglish no two different stories reach the
  lexical threshold, and the benchmark's workload should not be harder in that respect.
- A duplicate is a *rewrite* of an earlier, recent story (wire copies arrive within hours of
  each other, so the story is drawn from the last few dozen): sentences dropped, paragraphs
  reordered, chrome lines inserted ("Advertisement", "Share this article", bylines), spelling
  variants swapped (Khmeimim/Hmeimim, colour/color), or a verbatim copy under another source.

Everything is derived from one ``random.Random(seed)``: same arguments, same corpus, byte for byte.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from wiredesk.messages import RawArticle

ROOT = Path(__file__).resolve().parents[2]
# Shipped in the repo (data/eval/README.md); an installed wheel has no data/ and uses seeds/.
DEFAULT_DEV_SET = ROOT / "data" / "eval" / "onestopenglish-dev.jsonl"
SEEDS_DIR = ROOT / "seeds"

CHROME_TOP = (
    "By Staff Reporter",
    "Updated 10:42 GMT",
    "Photo: Reuters",
    "Listen to this article",
    "5 min read",
)
CHROME_MIDDLE = ("Advertisement", "READ MORE", "Story continues below advertisement")
CHROME_BOTTOM = (
    "Share this article",
    "Subscribe to our newsletter",
    "Follow us on Twitter",
    "© 2024 Wire Services. All rights reserved.",
    "Sign up for our daily briefing",
)
#: Pairs of spellings that real copies of one story disagree on (transliteration, US/UK).
SPELLING_VARIANTS: tuple[tuple[str, str], ...] = (
    ("Khmeimim", "Hmeimim"),
    ("Tartus", "Tartous"),
    ("Latakia", "Lattakia"),
    ("Kyiv", "Kiev"),
    ("colour", "color"),
    ("centre", "center"),
    ("organisation", "organization"),
    ("favourite", "favorite"),
    ("programme", "program"),
    ("defence", "defense"),
    ("realise", "realize"),
    ("behaviour", "behavior"),
)
SOURCES = ("wire-a", "wire-b", "daily-c", "portal-d", "herald-e", "times-f", "post-g")

_WORD = re.compile(r"[^\W_]+")
_KEPT_WORDS = (
    "about above after again against also although among another because been before being "
    "below between both but could does doing down during each even ever every from further "
    "have having here however into just many more most much must never only other over said "
    "same says should since some such than that their them then there these they this those "
    "through under until upon very were what when where which while whom whose will with "
    "within without would year years your"
)
#: Words a collage keeps: grammar, not content (the words that make stories different).
_FUNCTION_WORDS = frozenset(_KEPT_WORDS.split())

_SENTENCE_END = re.compile(r"([.!?][\"”’)]?)\s+(?=[A-Z“\"‘(])")


@dataclass(frozen=True, slots=True)
class BaseText:
    """One real text a story can start from."""

    name: str
    text: str


@dataclass(frozen=True, slots=True)
class GeneratedArticle:
    """A raw article plus what the benchmark knows about it (never sent on the wire)."""

    raw: RawArticle
    story: str
    kind: str  # 'original' | 'rewrite' | 'copy'
    edits: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CorpusSpec:
    """Everything that determines a corpus: equal specs give equal corpora."""

    articles: int
    duplicate_rate: float = 0.5
    seed: int = 1
    id_prefix: str = "bench"
    recent_stories: int = 40

    def __post_init__(self) -> None:
        if self.articles < 0:
            raise ValueError("articles must be >= 0")
        if not 0.0 <= self.duplicate_rate < 1.0:
            raise ValueError("duplicate_rate must be in [0, 1)")
        if self.recent_stories < 1:
            raise ValueError("recent_stories must be >= 1")


@dataclass(slots=True)
class Corpus:
    spec: CorpusSpec
    articles: list[GeneratedArticle] = field(default_factory=list)

    @property
    def raws(self) -> list[RawArticle]:
        return [a.raw for a in self.articles]

    def story_of(self) -> dict[str, str]:
        return {a.raw.id: a.story for a in self.articles}

    def summary(self) -> dict[str, object]:
        """Counts for the report: how many stories and duplicates, and of which kinds."""
        kinds: dict[str, int] = {}
        for article in self.articles:
            kinds[article.kind] = kinds.get(article.kind, 0) + 1
        sizes = [len(a.raw.body) for a in self.articles]
        return {
            "articles": len(self.articles),
            "stories": len({a.story for a in self.articles}),
            "duplicate_rate": self.spec.duplicate_rate,
            "measured_duplicate_rate": round(1 - kinds.get("original", 0) / len(self.articles), 4)
            if self.articles
            else 0.0,
            "kinds": kinds,
            "seed": self.spec.seed,
            "mean_body_chars": round(sum(sizes) / len(sizes), 1) if sizes else 0.0,
        }


def split_sentences(paragraph: str) -> list[str]:
    """Sentences of a paragraph, split after . ! ? before a capital; good enough for rewrites."""
    marked = _SENTENCE_END.sub("\\1\x00", paragraph.strip())
    return [s.strip() for s in marked.split("\x00") if s.strip()]


def split_paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.replace("\r", "").split("\n") if p.strip()]


def load_bases(path: Path | None = None) -> list[BaseText]:
    """Base texts: the JSONL at ``path`` (or the dev set when present), else the seeds.

    A JSONL line needs ``text`` (or ``body``); with a ``story`` key only the first text of each
    story (preferring ``level == 'advanced'``) is kept, so two bases are never rewrites of each
    other.
    """
    source = path if path is not None else (DEFAULT_DEV_SET if DEFAULT_DEV_SET.is_file() else None)
    if source is None:
        return [
            BaseText(p.stem, p.read_text("utf-8", errors="replace"))
            for p in sorted(SEEDS_DIR.glob("*.txt"))
        ]
    chosen: dict[str, BaseText] = {}
    advanced: set[str] = set()
    for number, line in enumerate(source.read_bytes().splitlines(), start=1):
        if not line.strip():
            continue
        doc = orjson.loads(line)
        text = doc.get("text") or doc.get("body")
        if not isinstance(text, str):
            continue
        story = str(doc.get("story") or doc.get("id") or number)
        is_advanced = doc.get("level") == "advanced"
        if story in chosen and (story in advanced or not is_advanced):
            continue
        chosen[story] = BaseText(str(doc.get("id") or f"{source.name}#{number}"), text)
        if is_advanced:
            advanced.add(story)
    if not chosen:
        raise ValueError(f"{source}: no texts")
    return list(chosen.values())


def _sentence_pool(bases: Sequence[BaseText]) -> list[str]:
    pool: list[str] = []
    for base in bases:
        for paragraph in split_paragraphs(base.text):
            pool.extend(s for s in split_sentences(paragraph) if len(s.split()) >= 6)
    return pool


def _collage(pool: Sequence[str], rng: random.Random, vocabulary: Sequence[str]) -> list[str]:
    """A new story from real sentences: 4-7 paragraphs of 2-4 sentences each, its content
    words its own (see the module docstring)."""
    replacements: dict[str, str] = {}

    def own(match: re.Match[str]) -> str:
        word = match.group(0)
        key = word.casefold()
        if key not in replacements:
            if word.isdigit():
                replacements[key] = str(rng.randint(2, 10 ** len(word)))
            elif len(word) < 4 or key in _FUNCTION_WORDS or rng.random() < 0.5:
                replacements[key] = key
            else:
                replacements[key] = rng.choice(vocabulary)
        new = replacements[key]
        return new.capitalize() if word[:1].isupper() else new

    paragraphs = []
    for _ in range(rng.randint(4, 7)):
        sentences = " ".join(rng.choice(pool) for _ in range(rng.randint(2, 4)))
        paragraphs.append(_WORD.sub(own, sentences))
    return paragraphs


def _vocabulary() -> list[str]:
    """Common English words to give each collage its own content words."""
    from wordfreq import top_n_list  # ~0.5 s to load, only when collages are needed

    return [w for w in top_n_list("en", 20_000) if w.isalpha() and len(w) >= 4]


def rewrite(paragraphs: Sequence[str], rng: random.Random) -> tuple[list[str], tuple[str, ...]]:
    """A syndicated copy of a story: the edits real copies show, each applied at random.

    Returns the new paragraphs and the names of the edits made (at least one), so tests and
    reports can see what kind of copy each article is.
    """
    out = [split_sentences(p) for p in paragraphs]
    edits: list[str] = []
    long_paragraphs = [i for i, s in enumerate(out) if len(s) > 1]
    if long_paragraphs and rng.random() < 0.5:
        for _ in range(rng.randint(1, 2)):
            i = rng.choice(long_paragraphs)
            if len(out[i]) > 1:
                del out[i][rng.randrange(len(out[i]))]
        edits.append("sentence-drop")
    if len(out) > 2 and rng.random() < 0.5:
        i = rng.randrange(1, len(out) - 1)
        out[i], out[i + 1] = out[i + 1], out[i]
        edits.append("paragraph-reorder")
    if long_paragraphs and rng.random() < 0.3:
        i = rng.choice(long_paragraphs)
        if len(out[i]) > 1:
            j = rng.randrange(len(out[i]) - 1)
            out[i][j], out[i][j + 1] = out[i][j + 1], out[i][j]
            edits.append("sentence-reorder")
    text_paragraphs = [" ".join(s) for s in out if s]
    body = "\n".join(text_paragraphs)
    variants = [(a, b) for a, b in SPELLING_VARIANTS if a in body or b in body]
    if variants and rng.random() < 0.7:
        for a, b in variants:
            text_paragraphs = [_swap(p, a, b) for p in text_paragraphs]
        edits.append("spelling")
    if rng.random() < 0.6:
        text_paragraphs.insert(0, rng.choice(CHROME_TOP))
        edits.append("chrome-top")
    if len(text_paragraphs) > 3 and rng.random() < 0.5:
        text_paragraphs.insert(rng.randrange(2, len(text_paragraphs)), rng.choice(CHROME_MIDDLE))
        edits.append("chrome-middle")
    if rng.random() < 0.6 or not edits:
        text_paragraphs.extend(rng.sample(CHROME_BOTTOM, rng.randint(1, 2)))
        edits.append("chrome-bottom")
    return text_paragraphs, tuple(edits)


def _swap(text: str, a: str, b: str) -> str:
    """Exchange two spellings everywhere (a -> b and b -> a), as a copy in the other style."""
    marker = "\x00"
    return text.replace(a, marker).replace(b, a).replace(marker, b)


def generate(spec: CorpusSpec, bases: Sequence[BaseText] | None = None) -> Corpus:
    """The corpus for ``spec``: originals and duplicates interleaved in publish order."""
    bases = list(bases) if bases is not None else load_bases()
    if not bases:
        raise ValueError("no base texts")
    rng = random.Random(spec.seed)
    pool = _sentence_pool(bases) or [p for b in bases for p in split_paragraphs(b.text)]
    duplicates = round(spec.articles * spec.duplicate_rate)
    vocabulary = _vocabulary() if spec.articles - duplicates > len(bases) else []
    positions = set(rng.sample(range(1, spec.articles), duplicates)) if spec.articles > 1 else set()
    stories: list[tuple[str, list[str]]] = []
    corpus = Corpus(spec)
    edits: tuple[str, ...]
    for i in range(spec.articles):
        source = SOURCES[rng.randrange(len(SOURCES))]
        article_id = f"{spec.id_prefix}-{spec.seed}-{i:07d}"
        if i in positions and stories:
            story, paragraphs = stories[-1 - rng.randrange(min(spec.recent_stories, len(stories)))]
            if rng.random() < 0.15:
                body_paragraphs, edits, kind = list(paragraphs), (), "copy"
            else:
                body_paragraphs, edits = rewrite(paragraphs, rng)
                kind = "rewrite"
        else:
            number = len(stories)
            if number < len(bases):
                paragraphs = split_paragraphs(bases[number].text)
                story = f"{spec.id_prefix}-story-{number}-{bases[number].name}"
            else:
                paragraphs = _collage(pool, rng, vocabulary)
                story = f"{spec.id_prefix}-story-{number}"
            stories.append((story, paragraphs))
            body_paragraphs, edits, kind = list(paragraphs), (), "original"
        raw = RawArticle(
            id=article_id,
            source=source,
            url=f"https://{source}.example/{spec.seed}/{i}",
            body="\n\n".join(body_paragraphs),
        )
        corpus.articles.append(GeneratedArticle(raw=raw, story=story, kind=kind, edits=edits))
    return corpus
