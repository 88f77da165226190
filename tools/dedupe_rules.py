"""Compare dedupe decision rules by k-fold cross-validation in seconds, offline.

``wiredesk eval`` runs the whole stage (ingest normalization, Redis, lazy embeddings) and takes
minutes on the multilingual dev file; exploring a rule there is slow and invites fitting to
one dev number. This tool runs normalization and feature extraction ONCE per pairs file, caches
every labelled pair's scores to a local file (never commit it: the SemEval texts are
copyrighted, the cache holds only numbers, ids and language codes), and then scores candidate
rules pair by pair with the same cross-validation as ``wiredesk eval`` (5-fold x 4, threshold
refit per pair class on four folds, F1 on the fifth; ``tools.evaluation.groups``):

    python tools/dedupe_rules.py cache ../shared/eval/semeval2022-multi-pairs-dev.jsonl \\
        /tmp/multi-scores.json
    python tools/dedupe_rules.py cv /tmp/multi-scores.json

Scores per pair: ``use`` (USE cosine of the openings), ``minilm`` (MiniLM cosine), ``lexical``
(TF-IDF cosine in the articles' languages), ``jaccard`` (MinHash), ``combined`` (the shipped
decision score, >= 1 joins), ``e5`` (multilingual-e5-small) for pairs in one non-English
language, and with ``--e5`` for every pair.
Thresholds are refit freely on the training folds (``wiredesk eval`` refits a factor on a
0.02 grid, ties to 1, which reads ~0.01 higher for the shipped rule). Not in the decision
path: nothing in services imports it.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from services.dedupe.cascade import pair_scores
from services.dedupe.settings import DedupeSettings
from services.dedupe.stage import DedupeStage
from services.ingest.normalize import NormalizationError, normalize
from services.ingest.settings import IngestSettings
from tools.evaluation.datasets import PairSet, load
from tools.evaluation.groups import MONOLINGUAL, pair_class
from tools.evaluation.metrics import prf, roc_auc
from tools.evaluation.runner import features_of
from wiredesk.messages import Article, RawArticle

Row = dict[str, Any]
Rule = Callable[[Sequence[Row]], np.ndarray]


def _e5_vectors(articles: dict[str, Article]) -> dict[str, np.ndarray]:
    """multilingual-e5-small unit vectors of what USE reads, for every article (English too):
    the stage computes them for non-English articles only, which is what ``pair_scores``
    reports as ``e5``; this adds the cross-lingual and English pairs' e5 cosine."""
    from services.dedupe.e5 import E5Encoder
    from services.dedupe.features import comparison_text

    ids = list(articles)
    vectors = E5Encoder().encode([comparison_text(articles[i]) for i in ids])
    return dict(zip(ids, vectors, strict=True))


def cache(pairs_file: Path, out: Path, *, e5: bool = False) -> None:
    """Scores of every labelled pair of ``pairs_file``, computed once, written to ``out``;
    with ``e5`` also ``e5``, the multilingual-e5-small cosine."""
    data = load(pairs_file)
    if not isinstance(data, PairSet):
        raise SystemExit(f"{pairs_file}: not a pairs file")
    stage = DedupeStage(DedupeSettings())
    limits = IngestSettings().limits()
    articles: dict[str, Article] = {}
    for doc in data.documents:
        raw = RawArticle(id=doc.id, source="eval", url=doc.id, title=doc.title, body=doc.text)
        try:
            articles[doc.id] = normalize(raw, limits)
        except NormalizationError:
            continue  # its pairs score 0, as in wiredesk eval
    features = features_of(stage, list(articles.values()))
    e5_vectors = _e5_vectors(articles) if e5 else {}
    rows: list[Row] = []
    for p in data.pairs:
        if p.label is None:
            continue
        langs = p.langs or "en-en"
        row: Row = {"langs": langs, "class": pair_class(langs), "truth": bool(p.label)}
        fa, fb = features.get(p.a), features.get(p.b)
        if fa is not None and fb is not None:
            scores = pair_scores(fa, fb, stage.thresholds)
            row.update({k: round(v, 6) for k, v in scores.items()})
            if fa.mvector is not None and fb.mvector is not None:
                row["use"] = round(float(fa.mvector @ fb.mvector), 6)
            if fa.vector is not None and fb.vector is not None:
                row["minilm"] = round(float(fa.vector @ fb.vector), 6)
            if p.a in e5_vectors and p.b in e5_vectors:  # unrounded: exploration only
                row["e5"] = round(float(e5_vectors[p.a] @ e5_vectors[p.b]), 6)
        rows.append(row)
    out.write_text(json.dumps(rows))
    print(f"{len(rows)} labelled pairs -> {out}")


def _f1(truth: Sequence[bool], predicted: Sequence[bool]) -> float:
    tp = sum(1 for y, p in zip(truth, predicted, strict=True) if y and p)
    return prf(tp, sum(predicted), sum(truth)).f1


def _best_threshold(scores: np.ndarray, truth: Sequence[bool]) -> float:
    """The threshold with the best F1 on these pairs (ties: the lowest)."""
    best = (-1.0, 0.0)
    for t in np.unique(np.round(scores, 4)):
        f1 = _f1(truth, list(scores >= t))
        if f1 > best[0] + 1e-12:
            best = (f1, float(t))
    return best[1]


def crossval(
    rows: Sequence[Row], rules: dict[str, Rule], *, folds: int = 5, repeats: int = 4
) -> tuple[str, dict[str, str]]:
    """Held-out F1 (mean ± sd over folds x repeats), overall and per class, of ``rules`` (one
    score function per pair class) with each class's threshold refit on the training folds."""
    overall: list[float] = []
    per_class: dict[str, list[float]] = {c: [] for c in rules}
    for repeat in range(repeats):
        order = list(range(len(rows)))
        random.Random(repeat).shuffle(order)
        for fold in range(folds):
            test = [rows[i] for n, i in enumerate(order) if n % folds == fold]
            train = [rows[i] for n, i in enumerate(order) if n % folds != fold]
            truth: list[bool] = []
            decided: list[bool] = []
            for cls, rule in rules.items():
                tr = [r for r in train if r["class"] == cls]
                te = [r for r in test if r["class"] == cls]
                threshold = _best_threshold(rule(tr), [r["truth"] for r in tr])
                got = list(rule(te) >= threshold)
                want = [r["truth"] for r in te]
                truth += want
                decided += got
                if any(want):
                    per_class[cls].append(_f1(want, got))
            overall.append(_f1(truth, decided))

    def summary(values: list[float]) -> str:
        return f"{statistics.fmean(values):.3f} ± {statistics.pstdev(values):.3f}"

    return summary(overall), {c: summary(v) for c, v in per_class.items()}


def column(name: str) -> Rule:
    return lambda rows: np.array([float(r.get(name, 0.0)) for r in rows])


def linear(base: str, **weights: float) -> Rule:
    """``base + sum(w x score)``; ``lexical_capped`` is the TF-IDF cosine capped at 0.3."""

    def rule(rows: Sequence[Row]) -> np.ndarray:
        total = column(base)(rows)
        for name, w in weights.items():
            if name == "lexical_capped":
                total = total + w * np.minimum(column("lexical")(rows), 0.3)
            else:
                total = total + w * column(name)(rows)
        return total

    return rule


def report(path: Path) -> None:
    rows: list[Row] = json.loads(path.read_text())
    classes = sorted({r["class"] for r in rows})
    for cls in classes:
        mine = [r for r in rows if r["class"] == cls]
        truth = [r["truth"] for r in mine]
        if 0 < sum(truth) < len(truth):
            aucs = {
                k: round(roc_auc(list(column(k)(mine)), truth), 3)
                for k in ("combined", "use", "minilm", "lexical", "jaccard", "e5")
                if any(k in r for r in mine)
            }
            print(f"{cls}: {len(mine)} pairs, {sum(truth)} positives, AUC {aucs}")
    candidates: dict[str, Rule] = {
        "shipped decision score": column("combined"),
        "USE alone": column("use"),
        "USE + 0.2 x TF-IDF (cap 0.3)": linear("use", lexical_capped=0.2),
        "USE + 0.5 x TF-IDF (cap 0.3)": linear("use", lexical_capped=0.5),
    }
    for name, rule in candidates.items():
        overall, per = crossval(rows, dict.fromkeys(classes, rule))
        print(f"{name}: CV F1 {overall}  {per}")
    if any("e5" in r for r in rows):  # monolingual pairs only; the others as shipped
        for a in (0.0, 0.2, 0.5, 1.0):
            rules = dict.fromkeys(classes, column("combined"))
            rules[MONOLINGUAL] = _gated_mix(a)
            overall, per = crossval(rows, rules)
            print(f"monolingual {a} x USE + {1 - a:.1f} x e5, gate 0.05: CV F1 {overall}  {per}")


def _gated_mix(a: float) -> Rule:
    """``a x USE + (1 - a) x e5`` cosine, 0 below the monolingual lexical gate (0.05)."""

    def rule(rows: Sequence[Row]) -> np.ndarray:
        mixed = a * column("use")(rows) + (1 - a) * column("e5")(rows)
        return np.where(column("lexical")(rows) >= 0.05, mixed, 0.0)

    return rule


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("cache", help="score every labelled pair once")
    c.add_argument("pairs", type=Path)
    c.add_argument("out", type=Path)
    c.add_argument("--e5", action="store_true", help="also the multilingual-e5-small cosine")
    r = sub.add_parser("cv", help="cross-validate candidate rules on a cache")
    r.add_argument("cache", type=Path)
    args = parser.parse_args(argv)
    if args.command == "cache":
        cache(args.pairs, args.out, e5=args.e5)
    else:
        report(args.cache)


if __name__ == "__main__":
    main(sys.argv[1:])
