"""The dedupe decision: cheapest evidence first, each verdict explained. Pure.

1. **exact**: the fingerprint hash (normalized text) is already in the window;
2. **near**: MinHash LSH finds an article whose estimated Jaccard similarity over word
   5-shingles reaches ``near`` (the same text with other chrome or small edits);
3. **semantic**: among the articles whose MiniLM cosine reaches ``semantic``, the one with the
   highest ``min(cosine / semantic, lexical / lexical_threshold)`` joins if both scores reach
   their thresholds. Requiring both removes each score's typical false merge: the embedding
   rates two events on one topic alike (e.g. two Syria reports from consecutive days), while
   TF-IDF is fooled by shared boilerplate. Linking to the best-matching *article* (not a story
   centroid, not single-link chaining of stories) was the most accurate rule measured;
4. otherwise the article starts a new story, whose id is the article's id.

The lexical gate: since a semantic join needs lexical >= ``lexical``, the semantic stage looks
only at the window's *lexical* candidates (an exact inverted index, ``index.LexicalIndex``) and
needs embeddings only for the article and those candidates. The result is the verdict of
scanning every embedding in the window, but an article without a lexical candidate is never
embedded. Embeddings are the caller's job (they are batched there), so deciding is two pure
steps: ``plan`` finds an article's evidence before any embedding (an exact or near match, or
its semantic candidates) and returns, as data, the embeddings still missing; the caller embeds
the union of a batch's needs once; ``score`` turns each plan into a verdict, in order.

Thresholds and the measurements behind them: docs/dedupe.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from services.dedupe.features import E5, MINILM, USE, Features, language_group, lexical_cosine
from services.dedupe.index import Match, Record, StoryIndex
from services.dedupe.minhash import jaccard
from wiredesk.messages import Method

CANONICAL_MEMBERS = 64
"""How many of a story's earliest members the canonical is chosen among."""


@dataclass(frozen=True, slots=True)
class Thresholds:
    near: float = 0.5
    semantic: float = 0.52
    lexical: float = 0.20
    multilingual: float = 0.59
    """USE cosine two articles in one non-English language must reach when
    ``monolingual_e5_weight`` is 0 (docs/dedupe.md)."""
    multilingual_lexical: float = 0.05
    """Their lexical gate: TF-IDF cosine in their language (a loose gate, it saves cost)."""
    monolingual_e5_weight: float = 0.8
    """The weight of multilingual-e5-small's cosine in the monolingual non-English rule
    (0: USE alone against ``multilingual``, e5 never computed; 1: e5 alone). Cross-lingual
    pairs read USE only. 0.8 by nested cross-validation on the SemEval-2022 dev pairs."""
    monolingual_mixed: float = 0.835
    """``(1 - monolingual_e5_weight) x USE + monolingual_e5_weight x e5`` cosine two articles
    in one non-English language must reach when the weight is above 0: the F1-best threshold
    of every one of 20 training folds (5-fold x 4) was 0.835-0.836."""
    crosslingual: float = 0.59
    """USE cosine plus ``crosslingual_lexical_weight`` x TF-IDF cosine (at most
    ``CROSS_LEXICAL_CAP``) that two articles in different languages must reach: the terms
    they share are names and numbers."""
    crosslingual_lexical_weight: float = 0.5
    crosslingual_candidates: int = 1000
    """Newest articles per other language compared with an article (0: no cross-lingual
    path). Bounds what a language switch in the stream costs in embeddings."""


CROSS_LEXICAL_CAP = 0.3
"""The most a cross-lingual pair's TF-IDF cosine counts. It changes no dev decision (cosines
above it are rare across languages) and bounds the score, so only candidates whose USE
cosine is within ``weight x cap`` of the threshold need their TF-IDF cosine computed."""

Route = str
ENGLISH_ROUTE: Route = "english"
MONO_ROUTE: Route = "monolingual"
CROSS_ROUTE: Route = "crosslingual"


def route(a: str, b: str) -> Route:
    """Which rule compares articles in languages ``a`` and ``b``: English pairs keep MiniLM and
    the English TF-IDF; pairs in one other language use USE, gated by TF-IDF in that
    language; pairs across languages use USE alone (they share no vocabulary)."""
    ga, gb = language_group(a), language_group(b)
    if ga != gb:
        return CROSS_ROUTE
    return ENGLISH_ROUTE if ga == "en" else MONO_ROUTE


Need = tuple[str, str]
"""An embedding a decision needs: (encoder, article id), encoder ``MINILM``, ``USE`` or ``E5``."""


def mono_encoders(thresholds: Thresholds) -> tuple[str, ...]:
    """The encoders the monolingual non-English rule reads (those with a weight)."""
    weight = thresholds.monolingual_e5_weight
    return tuple(e for e, w in ((USE, 1.0 - weight), (E5, weight)) if w > 0)


def mono_cosine(use: float, e5: float, thresholds: Thresholds) -> float:
    """The monolingual rule's cosine: USE's and e5's, mixed by ``monolingual_e5_weight``."""
    weight = thresholds.monolingual_e5_weight
    return (1.0 - weight) * use + weight * e5 if weight > 0 else use


@dataclass(frozen=True, slots=True)
class Settled:
    """An exact or near match, the verdict without any embedding: the matched article is
    named by id, and by the position of the index holding it, because a batch article's
    story is known only once the articles before it are decided."""

    index: int
    article_id: str
    method: Method
    score: float


@dataclass(frozen=True, slots=True)
class Candidates:
    """One index's semantic candidates for an article, by id: those in its own language
    group with their TF-IDF cosine (which passed the gate), and the newest of the others."""

    lexical: tuple[tuple[str, float], ...] = ()
    cross: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Plan:
    """What the cascade found for one article before anything is embedded, as data.

    Either ``settled`` (exact or near: nothing to embed) or, per index in the order given,
    the semantic candidates, and ``needs``: the embeddings ``score`` reads that are not
    computed yet (the article's own, its candidates'). Everything here depends on
    hashes, signatures and terms, never on a verdict, so a whole batch can be planned, its
    needs embedded at once, then scored in order."""

    article_id: str
    settled: Settled | None
    candidates: tuple[Candidates, ...] = ()
    needs: frozenset[Need] = frozenset()


@dataclass(frozen=True, slots=True)
class Verdict:
    story_id: str
    method: Method
    duplicate_of: str | None
    score: float
    evidence: dict[str, float] = field(default_factory=dict)


def combined_score(semantic: float, lexical: float, thresholds: Thresholds) -> float:
    """>= 1 exactly when both scores reach their thresholds; orders candidates by the weaker."""
    return min(semantic / thresholds.semantic, lexical / thresholds.lexical)


def pair_scores(a: Features, b: Features, thresholds: Thresholds) -> dict[str, float]:
    """Every similarity the cascade has for two articles, for evaluation: ``jaccard``
    (MinHash), and with the semantic stage ``semantic`` (embedding cosine, the score of a
    semantic verdict), ``lexical`` and ``combined`` (the decision score, >= 1 joins)."""
    scores = {"jaccard": jaccard(a.signature, b.signature)}
    kind = route(a.lang, b.lang)
    if kind == ENGLISH_ROUTE or a.mvector is None or b.mvector is None:
        if a.vector is not None and b.vector is not None and a.terms and b.terms:
            scores["semantic"] = float(np.dot(a.vector, b.vector))
            scores["lexical"] = lexical_cosine(a.terms, b.terms)
            scores["combined"] = combined_score(scores["semantic"], scores["lexical"], thresholds)
        return scores
    cosine = scores[USE] = float(np.dot(a.mvector, b.mvector))
    if kind == MONO_ROUTE and thresholds.monolingual_e5_weight > 0:
        if a.evector is None or b.evector is None:
            return scores
        scores[E5] = float(np.dot(a.evector, b.evector))
        cosine = mono_cosine(cosine, scores[E5], thresholds)
    lexical = lexical_cosine(a.terms, b.terms) if a.terms and b.terms else 0.0
    scores["semantic"] = scores["multilingual"] = cosine
    scores["lexical"] = lexical
    scores["combined"] = _routed_score(kind, cosine, lexical, thresholds)
    return scores


def _routed_score(kind: Route, cosine: float, lexical: float, thresholds: Thresholds) -> float:
    """>= 1 exactly when the route's rule joins the pair."""
    if kind == ENGLISH_ROUTE:
        return combined_score(cosine, lexical, thresholds)
    if kind == MONO_ROUTE:
        if lexical < thresholds.multilingual_lexical:
            return 0.0
        mixed = thresholds.monolingual_e5_weight > 0
        return cosine / (thresholds.monolingual_mixed if mixed else thresholds.multilingual)
    capped = min(lexical, CROSS_LEXICAL_CAP)
    return (cosine + thresholds.crosslingual_lexical_weight * capped) / thresholds.crosslingual


def _exact_or_near(features: Features, index: StoryIndex, thresholds: Thresholds) -> Verdict | None:
    same_text = index.exact(features.text_sha256)
    if same_text is not None:
        return Verdict(same_text.story_id, Method.EXACT, same_text.article_id, 1.0)
    match = index.nearest(features)
    if match is not None and match.score >= thresholds.near:
        return Verdict(
            match.record.story_id,
            Method.NEAR,
            match.record.article_id,
            match.score,
            {"jaccard": round(match.score, 4)},
        )
    return None


def _embeddable(record: Record) -> bool:
    """Records without a vector and without an opening to embed (a replica that ran without
    the semantic stage) are never candidates, as when every cosine came from the window's
    vector matrix, which did not hold them."""
    f = record.features
    return f.vector is not None or f.mvector is not None or f.opening is not None


def _settled(
    features: Features, indexes: Sequence[StoryIndex], thresholds: Thresholds
) -> Settled | None:
    """The best exact or near match over the indexes: the first index's on a tie."""
    best: Settled | None = None
    for position, index in enumerate(indexes):
        found = _exact_or_near(features, index, thresholds)
        if found is None or found.duplicate_of is None:
            continue
        if best is None or found.score > best.score:
            best = Settled(position, found.duplicate_of, found.method, found.score)
    return best


def _candidates(features: Features, index: StoryIndex, thresholds: Thresholds) -> Candidates:
    """The lexical candidates in the article's own language group (the English rule with
    the ``lexical`` gate; another language with the looser ``multilingual_lexical`` one), and
    the newest ``crosslingual_candidates`` articles of every other language group."""
    if features.terms is None:
        return Candidates()
    own = language_group(features.lang)
    gate = thresholds.lexical if own == "en" else thresholds.multilingual_lexical
    lexical = tuple(
        (m.record.article_id, m.score)
        for m in index.lexical_candidates(features.terms, gate)
        if language_group(m.record.features.lang) == own and _embeddable(m.record)
    )
    cross: tuple[str, ...] = ()
    if thresholds.crosslingual_candidates > 0:
        cross = tuple(
            r.article_id
            for r in index.other_languages(features.lang, thresholds.crosslingual_candidates)
            if _embeddable(r)
        )
    return Candidates(lexical, cross)


def _needs(
    article_id: str,
    features: Features,
    indexes: Sequence[StoryIndex],
    candidates: Sequence[Candidates],
    thresholds: Thresholds,
) -> frozenset[Need]:
    """The embeddings scoring these candidates reads that nobody has computed yet: MiniLM
    for English pairs, USE and e5 (``mono_encoders``) for pairs in one other language, USE
    across languages; the article's own as soon as it has a candidate."""
    own = (MINILM,) if language_group(features.lang) == "en" else mono_encoders(thresholds)
    needs: set[Need] = set()
    for index, found in zip(indexes, candidates, strict=True):
        lexical = [i for i, _ in found.lexical]
        wanted = [(encoder, lexical) for encoder in own] + [(USE, list(found.cross))]
        for encoder, ids in wanted:
            for candidate_id in ids:
                record = index.get(candidate_id)
                if record is not None and record.features.embedding(encoder) is None:
                    needs.add((encoder, candidate_id))
            if ids and features.embedding(encoder) is None:
                needs.add((encoder, article_id))
    return frozenset(needs)


def plan(
    *,
    article_id: str,
    features: Features,
    indexes: Sequence[StoryIndex],
    thresholds: Thresholds,
) -> Plan:
    """What deciding this article against the indexes (window, then the batch so far) will
    read: an exact or near match settles it; otherwise its semantic candidates, and the
    embeddings still missing. Pure: the caller embeds the needs of a whole batch at once."""
    settled = _settled(features, indexes, thresholds)
    if settled is not None:
        return Plan(article_id, settled)
    candidates = tuple(_candidates(features, index, thresholds) for index in indexes)
    needs = _needs(article_id, features, indexes, candidates, thresholds)
    return Plan(article_id, None, candidates, needs)


def unmet(plan: Plan, features: Features, indexes: Sequence[StoryIndex]) -> set[Need]:
    """The needs of ``plan`` still without an embedding (in ``features``, the article's own,
    or in the index that holds the candidate)."""
    missing: set[Need] = set()
    for encoder, article_id in plan.needs:
        if article_id == plan.article_id:
            f: Features | None = features
        else:
            f = next((r.features for i in indexes if (r := i.get(article_id)) is not None), None)
        if f is None or f.embedding(encoder) is None:
            missing.add((encoder, article_id))
    return missing


Cosines = dict[str, float]
"""A candidate's cosine per encoder (the evidence of a multilingual verdict)."""


def _semantic_matches(
    features: Features, index: StoryIndex, found: Candidates, thresholds: Thresholds
) -> list[tuple[Match, float, Route, Cosines]]:
    """(the route's cosine, lexical cosine, route, each encoder's cosine) of every
    candidate, in id order."""
    english = language_group(features.lang) == "en"
    matches: list[tuple[Match, float, Route, Cosines]] = []
    if found.lexical:
        records = [index.get(i) for i, _ in found.lexical]
        encoders = (MINILM,) if english else mono_encoders(thresholds)
        vectors = [features.embedding(e) for e in encoders]
        if any(v is None for v in vectors) or any(r is None for r in records):
            raise ValueError(f"score() before the plan's needs were met: {sorted(found.lexical)}")
        held = [r for r in records if r is not None]
        per_encoder = {
            e: index.embedding_cosines(e, v, held)
            for e, v in zip(encoders, vectors, strict=True)
            if v is not None
        }
        kind = ENGLISH_ROUTE if english else MONO_ROUTE
        for row, (record, (_, lexical)) in enumerate(zip(held, found.lexical, strict=True)):
            cosines = {e: values[row] for e, values in per_encoder.items()}
            if english:
                cosine = cosines[MINILM]
            else:
                cosine = mono_cosine(cosines.get(USE, 0.0), cosines.get(E5, 0.0), thresholds)
            matches.append((Match(record, cosine), lexical, kind, cosines))
    if found.cross and features.mvector is not None:
        cross = [r for i in found.cross if (r := index.get(i)) is not None]
        cosines_use = index.embedding_cosines(USE, features.mvector, cross)
        terms = features.terms or {}
        floor = thresholds.crosslingual - thresholds.crosslingual_lexical_weight * CROSS_LEXICAL_CAP
        matches += [
            (Match(r, c), lexical_cosine(terms, r.features.terms or {}), CROSS_ROUTE, {USE: c})
            for r, c in zip(cross, cosines_use, strict=True)
            if c >= floor - 1e-9  # below it no TF-IDF cosine can lift the pair to a join
        ]
    matches.sort(key=lambda item: item[0].record.article_id)
    return matches


def _semantic(
    features: Features, index: StoryIndex, found: Candidates, thresholds: Thresholds
) -> Verdict | None:
    """Among the candidates reaching both thresholds, the highest combined score; ties go to
    the smallest id (the order the whole-window scan visited them in)."""
    best: tuple[float, Match, float, Route, Cosines] | None = None
    for match, lexical, kind, cosines in _semantic_matches(features, index, found, thresholds):
        if kind == ENGLISH_ROUTE and match.score < thresholds.semantic:
            continue
        score = _routed_score(kind, match.score, lexical, thresholds)
        if best is None or score > best[0]:
            best = (score, match, lexical, kind, cosines)
    if best is None or best[0] < 1.0:
        return None
    score, match, lexical, kind, cosines = best
    evidence = {
        "semantic" if kind == ENGLISH_ROUTE else "multilingual": round(match.score, 4),
        "lexical": round(lexical, 4),
        "combined": round(score, 4),
    }
    if kind != ENGLISH_ROUTE:
        for encoder, cosine in cosines.items():  # each encoder's cosine, by name
            evidence[encoder] = round(cosine, 4)
        evidence[f"languages:{features.lang}-{match.record.features.lang}"] = 1.0
    if kind == CROSS_ROUTE:
        evidence["cross_lingual"] = 1.0
    return Verdict(
        match.record.story_id,
        Method.SEMANTIC,
        match.record.article_id,
        round(match.score, 4),
        evidence,
    )


def score(
    plan: Plan, features: Features, indexes: Sequence[StoryIndex], thresholds: Thresholds
) -> Verdict:
    """The verdict of a plan, once its needs are embedded (``features`` carries the
    article's own embeddings, the indexes their records'). The indexes are those the plan
    was made with; the matched articles' stories are read from them now, so a batch article
    planned before the one it matches was decided gets that article's story."""
    if plan.settled is not None:
        settled = plan.settled
        record = indexes[settled.index].get(settled.article_id)
        if record is None:
            raise ValueError(f"planned match {settled.article_id} is not in its index any more")
        evidence = {} if settled.method == Method.EXACT else {"jaccard": round(settled.score, 4)}
        return Verdict(record.story_id, settled.method, settled.article_id, settled.score, evidence)
    found = [
        v
        for index, candidates in zip(indexes, plan.candidates, strict=True)
        if (v := _semantic(features, index, candidates, thresholds)) is not None
    ]
    if found:
        return max(found, key=lambda v: v.evidence.get("combined", v.score))
    return Verdict(story_id=plan.article_id, method=Method.NEW, duplicate_of=None, score=1.0)


def decide(
    *, article_id: str, features: Features, indexes: list[StoryIndex], thresholds: Thresholds
) -> Verdict:
    """``plan`` then ``score``, for callers holding every embedding already (tests, tools).

    Raises ``ValueError`` when the plan needs an embedding nobody computed."""
    planned = plan(article_id=article_id, features=features, indexes=indexes, thresholds=thresholds)
    missing = unmet(planned, features, indexes)
    if missing:
        raise ValueError(f"decide() needs embeddings first: {sorted(missing)}")
    return score(planned, features, indexes, thresholds)


def canonical(members: list[tuple[str, Features]]) -> str:
    """The story's best representative, the copy closest to the wire original.

    Among members that look like agency copy (a dateline, which reprints of the wire text keep
    and rewrites drop), or among all when none does, the one most similar on average to all
    members (a medoid by TF-IDF cosine): rewrites each drift their own way from the original,
    which stays central. Ties go to the earliest member; with two members, or without lexical
    features (semantic stage off), the first (wire-looking) member.

    Why TF-IDF and not the embedding: every member's terms are in the shared log, while
    embeddings are lazy (exact and near copies are never embedded), so a medoid over
    embeddings had to embed every member of every story of three or more, which was most of
    the model's work on a stream of copies (660 of 1,500 benchmark articles), for copies whose
    embeddings are near-identical anyway. The sum of cosines to all others is computed against
    the members' summed vector: one pass over the terms of the story's first
    ``CANONICAL_MEMBERS`` members (the wire original and its first copies arrive first; a
    syndicated story with thousands of copies would otherwise cost milliseconds per copy).
    """
    members = members[:CANONICAL_MEMBERS]
    wire = [i for i, (_, f) in enumerate(members) if f.wire_copy]
    eligible = wire or list(range(len(members)))
    terms = [f.terms for _, f in members if f.terms is not None]
    if len(eligible) == 1 or len(members) <= 2 or len(terms) < len(members):
        return members[eligible[0]][0]
    total: dict[int, float] = {}
    for vector in terms:
        for term, weight in vector.items():
            total[term] = total.get(term, 0.0) + weight
    best_index, best_score = eligible[0], float("-inf")
    for i in eligible:
        score = sum(w * (total[t] - w) for t, w in terms[i].items())  # cosine to all others
        if score > best_score + 1e-9:
            best_index, best_score = i, score
    return members[best_index][0]
