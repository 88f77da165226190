"""What dedupe remembers of an article, and how it is computed. Pure apart from model loading.

Three representations, cheapest first, one per stage of the cascade:

- ``text_sha256``: hash of the fingerprint form of the text (ingest computes it): exact copies;
- ``signature``: MinHash over word 5-shingles: copies with other chrome or small edits;
- ``vector`` and ``terms``: a MiniLM sentence embedding of the article's opening and a TF-IDF
  vector with a fixed background IDF: rewrites of one report (see ``cascade.py``).

The embedding is *lazy*: it costs ~28 ms of CPU an article, while the semantic stage can only
join an article that has a window article at lexical cosine >= the lexical threshold (the
"lexical gate", ``cascade.py``). So ``featurize`` computes everything but the vector, and keeps
the ``opening`` the model would read, so that any replica can embed the article later, when
an article needs it as a semantic candidate.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from tokenizers import Encoding

from services.dedupe.e5 import E5Encoder
from services.dedupe.embedding import Backend, MiniLMEncoder
from services.dedupe.langtext import LanguageTfidf
from services.dedupe.minhash import MinHasher, Signature
from services.dedupe.multilingual import UseEncoder, use_text
from wiredesk.messages import Article

Vector = npt.NDArray[np.float32]
Terms = dict[int, float]
"""Sparse L2-normalized TF-IDF vector keyed by the CRC-32 of each term: 6 bytes a term in the
log instead of the term's text; a collision between two terms of one article pair is about as
likely as 1 in 10^6 and moves the cosine by at most that term's weight."""

_SPACE = re.compile(r"\s")
_CHARS_PER_PIECE = 8
"""The first prefix tokenized to find an opening has this many characters per word piece the
model reads (768 for 96). The tokenizer normalizes the whole string it is given before it
truncates, so its cost is linear in the prefix: measured, 0.13 ms a text at 700 characters
against 0.43 ms at 2,000. Every article of the dev sets and the benchmark corpus reached 96
pieces within 563 characters; one that does not is tokenized again from ``_PREFIX_CHARS``."""
_PREFIX_CHARS = 2000
"""The second prefix, then the whole text."""

MAX_TOKENS = 96
"""Word pieces of the opening the model reads, unless told (``WIREDESK_EMBED_MAX_TOKENS``)."""
BATCH_SIZE = 32
"""Texts per model call, unless told (``WIREDESK_EMBED_BATCH_SIZE``)."""
THREADS = 0
"""ONNX Runtime threads, 0: one per core, unless told (``WIREDESK_EMBED_THREADS``)."""


def _prefix(text: str, chars: int) -> str:
    """``text`` up to its last whitespace within ``chars``: a prefix cut between
    whitespace-delimited chunks tokenizes exactly like the same stretch of the whole text."""
    if len(text) <= chars:
        return text
    cut = max(text.rfind(c, 0, chars) for c in " \n\t")
    return text[:cut] if cut > 0 else text


@dataclass(frozen=True, slots=True)
class Features:
    text_sha256: str
    signature: Signature
    vector: Vector | None = None
    terms: Terms | None = None
    wire_copy: bool = False
    """The article carries a dateline (``TARTOUS:``, ``KYIV (Reuters) -``): the mark of agency
    copy, which reprints keep and rewrites drop."""
    opening: str | None = None
    """The shortest prefix of the comparison text that the model reads exactly as it reads the
    whole text (the same word pieces up to ``max_tokens``): what a replica embeds when it needs
    the vector later. None without the semantic stage. With the multilingual path, the longer
    of that and the first ``USE_WORDS`` words (what the multilingual encoder reads), in every
    language."""
    lang: str = "en"
    """The language ingest detected (ISO 639-1; 'und' is treated as English): which
    tokenizer and background frequencies made ``terms``, and which encoder compares it."""
    mvector: Vector | None = None
    """The multilingual (USE) embedding of ``opening``, computed lazily like ``vector``."""
    evector: Vector | None = None
    """The multilingual-e5-small embedding of ``opening`` (non-English articles the
    monolingual rule compares), computed lazily like ``vector``."""

    def embedding(self, encoder: str) -> Vector | None:
        """``vector`` (encoder ``MINILM``), ``mvector`` (``USE``) or ``evector`` (``E5``)."""
        result: Vector | None = getattr(self, _FIELD_OF[encoder])
        return result

    def with_embedding(self, encoder: str, vector: Vector) -> Features:
        """A copy carrying ``vector`` as the ``encoder``'s embedding."""
        changes: dict[str, Any] = {_FIELD_OF[encoder]: vector}
        return replace(self, **changes)


ENGLISH = frozenset({"en", "und"})

MINILM = "minilm"
USE = "use"
E5 = "e5"
"""Encoder names: of ``Features.vector`` (all-MiniLM-L6-v2), ``Features.mvector`` (USE
multilingual v3) and ``Features.evector`` (multilingual-e5-small)."""
_FIELD_OF = {MINILM: "vector", USE: "mvector", E5: "evector"}


def language_group(lang: str) -> str:
    """English and undetermined share the English path; every other language is its own."""
    return "en" if lang in ENGLISH else lang


def term_id(term: str) -> int:
    return zlib.crc32(term.encode("utf-8"))


def lexical_cosine(a: Terms, b: Terms) -> float:
    if len(a) > len(b):
        a, b = b, a
    return float(sum(weight * b.get(term, 0.0) for term, weight in a.items()))


def as_logged(vector: npt.NDArray[np.floating]) -> Vector:
    """The vector as a replica holds it after the log's float16 round trip (renormalized).

    A vector embedded late, for an article already in the log, goes through the same rounding,
    so it is bit-for-bit the vector the article would have had if it had been embedded at its
    decision and logged: scores, hence decisions, do not depend on when it was embedded."""
    logged: Vector = np.asarray(vector).astype("<f2").astype(np.float32)
    logged /= max(float(np.linalg.norm(logged)), 1e-12)
    return logged


def comparison_text(article: Article) -> str:
    """Headline and body: the headline is the densest statement of the event, and ingest moves
    a detected headline out of the text, so without it two copies of one report would be
    compared on different openings. Not repeated when the text already starts with it."""
    title = article.title.strip()
    if not title or article.text.startswith(title[: min(len(title), 40)]):
        return article.text
    return f"{title}\n\n{article.text}"


class Featurizer:
    """Computes features for batches of articles; the model is loaded once per process."""

    def __init__(
        self,
        hasher: MinHasher,
        *,
        semantic: bool = True,
        max_tokens: int = MAX_TOKENS,
        batch_size: int = BATCH_SIZE,
        backend: Backend = "onnx",
        threads: int = THREADS,
        multilingual: bool = True,
        graph: Path | None = None,
        e5: bool = True,
    ) -> None:
        self.hasher = hasher
        self.semantic = semantic
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self._encoder: MiniLMEncoder | None = None
        self._tfidf: LanguageTfidf | None = None
        self._multilingual: UseEncoder | None = None
        self._e5: E5Encoder | None = None
        if semantic:
            self._encoder = MiniLMEncoder(backend=backend, threads=threads, graph=graph)
            self._tfidf = LanguageTfidf()
            if multilingual:
                self._multilingual = UseEncoder(threads=threads)
                if e5:
                    self._e5 = E5Encoder(threads=threads)

    @property
    def multilingual(self) -> bool:
        return self._multilingual is not None

    def terms(self, text: str, lang: str = "en") -> Terms:
        """TF-IDF in the article's language (``langtext``); without the multilingual path
        every article is weighted as English, as before it existed."""
        if self._tfidf is None:
            raise RuntimeError("lexical features need semantic=True")
        if self._multilingual is None:
            lang = "en"
        return {term_id(t): w for t, w in self._tfidf.vector(text, lang).items()}

    def featurize(self, articles: list[Article], *, embed: bool = False) -> list[Features]:
        """Everything but the embedding, unless ``embed``: the handler embeds only the articles
        the lexical gate lets through (``DedupeStage``); evaluation embeds pairs directly."""
        texts = [comparison_text(a) for a in articles]
        signatures = [self.hasher.signature(a.text) for a in articles]
        if self._encoder is None:
            return [
                Features(a.text_sha256, sig, wire_copy=a.dateline is not None)
                for a, sig in zip(articles, signatures, strict=True)
            ]
        openings = self.openings(texts)
        langs = [a.lang if self.multilingual else "en" for a in articles]
        if self.multilingual:
            # USE reads the first USE_WORDS words in every language: an English article's
            # USE vector is only used across languages, where the MiniLM opening (~70 words)
            # ranked pairs worse (docs/dedupe.md). MiniLM reads the same word pieces from
            # the longer prefix, so English vectors and decisions do not change.
            for i in range(len(texts)):
                wide = use_text(texts[i])
                if len(wide) > len(openings[i]):
                    openings[i] = wide  # both are prefixes cut at whitespace (see openings)
        vectors = self.embed(openings) if embed else None
        mvectors = self.embed_multilingual(openings) if embed and self.multilingual else None
        evectors: dict[int, Vector] = {}
        if embed and self._e5 is not None:  # only the monolingual non-English rule reads e5
            others = [i for i, lang in enumerate(langs) if language_group(lang) != "en"]
            computed = self.embed_e5([openings[i] for i in others])
            evectors = {i: as_logged(v) for i, v in zip(others, computed, strict=True)}
        return [
            Features(
                a.text_sha256,
                sig,
                vectors[i] if vectors is not None else None,
                self.terms(texts[i], langs[i]),
                a.dateline is not None,
                openings[i],
                langs[i],
                as_logged(mvectors[i]) if mvectors is not None else None,
                evectors.get(i),
            )
            for i, (a, sig) in enumerate(zip(articles, signatures, strict=True))
        ]

    def embed_multilingual(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """USE multilingual unit vectors of ``texts`` (openings: see ``Features.opening``)."""
        if self._multilingual is None:
            raise RuntimeError("multilingual embeddings need semantic=True and multilingual=True")
        return self._multilingual.encode(texts)

    def embed_with(self, encoder: str, texts: list[str]) -> npt.NDArray[np.float32]:
        """``encoder``'s unit vectors of ``texts``: ``embed`` (``MINILM``),
        ``embed_multilingual`` (``USE``) or ``embed_e5`` (``E5``)."""
        if encoder == USE:
            return self.embed_multilingual(texts)
        if encoder == E5:
            return self.embed_e5(texts)
        if encoder == MINILM:
            return self.embed(texts)
        raise ValueError(f"unknown encoder {encoder!r}")

    def embed_e5(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """multilingual-e5-small unit vectors of ``texts`` (openings: see ``Features.opening``)."""
        if self._e5 is None:
            raise RuntimeError("e5 embeddings need semantic=True, multilingual=True and e5=True")
        return self._e5.encode(texts)

    @property
    def e5(self) -> bool:
        return self._e5 is not None

    def embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """Unit vectors of ``texts`` (openings or whole texts: the same word pieces), batched."""
        if self._encoder is None:
            raise RuntimeError("embeddings need semantic=True")
        return self._encoder.encode(texts, batch_size=self.batch_size, max_tokens=self.max_tokens)

    def _window_encodings(self, texts: list[str]) -> list[Encoding]:
        """Each text's encoding up to the model's window, from the shortest prefix that fills
        it: ``_CHARS_PER_PIECE`` per piece, then ``_PREFIX_CHARS``, then the whole text (a
        text is tokenized again only if its prefix was cut and fell short of the window)."""
        assert self._encoder is not None  # openings checked
        encodings: list[Encoding | None] = [None] * len(texts)
        todo = list(range(len(texts)))
        for chars in (_CHARS_PER_PIECE * self.max_tokens, _PREFIX_CHARS, None):
            if not todo:
                break
            given = [texts[i] if chars is None else _prefix(texts[i], chars) for i in todo]
            shorter: list[int] = []
            for i, text, encoding in zip(
                todo, given, self._encoder.tokenize(given, max_tokens=self.max_tokens), strict=True
            ):
                encodings[i] = encoding
                if len(encoding.ids) < self.max_tokens and len(text) < len(texts[i]):
                    shorter.append(i)
            todo = shorter
        return [e for e in encodings if e is not None]

    def openings(self, texts: list[str]) -> list[str]:
        """Each text cut after the whitespace-delimited chunk holding its last word piece that
        the model reads. Why that is exact: BERT's normalizer works per character and its
        pre-tokenizer splits at whitespace and punctuation, so whole chunks tokenize alike in
        the prefix and the text; the cut is still verified, and a text whose prefix would
        tokenize differently (e.g. a control character BERT deletes) is kept whole."""
        if self._encoder is None:
            raise RuntimeError("openings need semantic=True")
        encodings = self._window_encodings(texts)
        cuts: list[str] = []
        for text, encoding in zip(texts, encodings, strict=True):
            if len(encoding.ids) < self.max_tokens:
                cuts.append(text)
                continue
            space = _SPACE.search(text, encoding.offsets[-2][1])
            cuts.append(text[: space.start()] if space is not None else text)
        checked = self._encoder.tokenize(cuts, max_tokens=self.max_tokens)
        return [
            cut if again.ids == whole.ids else text
            for text, cut, again, whole in zip(texts, cuts, checked, encodings, strict=True)
        ]
