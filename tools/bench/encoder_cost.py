"""What each of dedupe's encoders costs per article, as the stage calls it.

``python -m tools.bench.encoder_cost [FILE] [--texts N]`` (issue 16: "the model's cost per
article is reported for each encoder"). FILE is an evaluation file (``tools.evaluation``
formats: a clusters or a pairs file, e.g. ``../shared/eval/semeval2022-multi-pairs-dev.jsonl``);
by default the OneStopEnglish copy in ``data/eval`` (English only). Each text goes through
ingest's normalization and the stage's featurizer, and each encoder embeds the openings the
stage would hand it, in the stage's batches: MiniLM (English rule), USE multilingual v3
(every non-English rule) and multilingual-e5-small (one non-English language). Reported per
encoder: CPU milliseconds per article (every thread counted) and wall milliseconds per article
on this machine's cores, best of two passes, interleaved so a busy machine slows each alike.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from services.dedupe.features import E5, MINILM, USE
from services.dedupe.settings import DedupeSettings
from services.dedupe.stage import DedupeStage
from services.ingest.normalize import NormalizationError, normalize
from services.ingest.settings import IngestSettings
from tools.evaluation.datasets import load
from wiredesk.messages import Article, RawArticle

DEV_SET = Path(__file__).resolve().parents[2] / "data" / "eval" / "onestopenglish-dev.jsonl"


def _articles(path: Path, limit: int) -> list[Article]:
    limits = IngestSettings().limits()
    found: list[Article] = []
    for doc in load(path).documents[:limit]:
        raw = RawArticle(id=doc.id, source="bench", url=doc.id, title=doc.title, body=doc.text)
        try:
            found.append(normalize(raw, limits))
        except NormalizationError:
            continue
    return found


def measure(path: Path, limit: int) -> dict[str, tuple[float, float]]:
    """(CPU ms, wall ms) per article of each encoder on the openings of ``path``'s texts."""
    stage = DedupeStage(DedupeSettings())
    featurizer = stage.featurizer
    articles = _articles(path, limit)
    openings = [f.opening or "" for f in featurizer.featurize(articles)]
    encoders = (MINILM, USE, E5)
    for name in encoders:
        featurizer.embed_with(name, openings[:2])  # load the model outside the timing
    best: dict[str, tuple[float, float]] = {}
    batch = featurizer.batch_size
    for _ in range(2):
        for name in encoders:
            cpu, wall = time.process_time(), time.perf_counter()
            for start in range(0, len(openings), batch):
                featurizer.embed_with(name, openings[start : start + batch])
            cpu_ms = 1000 * (time.process_time() - cpu) / len(openings)
            wall_ms = 1000 * (time.perf_counter() - wall) / len(openings)
            if name not in best or cpu_ms < best[name][0]:
                best[name] = (cpu_ms, wall_ms)
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, nargs="?", default=DEV_SET, help="evaluation file")
    parser.add_argument("--texts", type=int, default=96, help="texts to embed (default 96)")
    args = parser.parse_args(argv)
    costs = measure(args.file, args.texts)
    print(f"{args.file.name}, {args.texts} texts, {os.cpu_count()} cores")
    for name, (cpu_ms, wall_ms) in costs.items():
        print(
            f"{name:7s} {cpu_ms:7.1f} ms CPU per article  {wall_ms:7.1f} ms wall  "
            f"({1000 / wall_ms:6.1f} articles/s)"
        )


if __name__ == "__main__":
    main()
