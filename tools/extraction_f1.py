"""Body-extraction quality of ``wiredesk normalize`` vs plain trafilatura, on real pages.

Uses ScrapingHub's public article-extraction benchmark (github.com/scrapinghub/
article-extraction-benchmark, MIT): 181 news and blog pages (``html/*.html.gz``) with their
hand-made ``ground-truth.json``, scored with the benchmark's own shingle-based F1 from its
``evaluate.py`` (imported from the benchmark folder, not copied). Nothing of the benchmark is
in this repository: clone it anywhere and pass the folder.

    python tools/extraction_f1.py /path/to/article-extraction-benchmark [--bootstrap 200]

Both extractors run in the same process on the same pages:

- ``wiredesk normalize``: the page as ``wiredesk replay`` reads an ``.html`` file, through
  ingest's normalization with the shipped settings (a page it dead-letters counts as empty
  text, and is listed with its reason);
- ``trafilatura``: ``trafilatura.extract(html, include_comments=False)``, exactly the
  benchmark's own ``extractors/run_trafilatura.py``.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import sys
import time
from pathlib import Path
from types import ModuleType

import trafilatura

from services.ingest.formats.plain import parse_html
from services.ingest.normalize import NormalizationError, normalize
from services.ingest.settings import IngestSettings


def _evaluate_module(bench: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("aeb_evaluate", bench / "evaluate.py")
    if spec is None or spec.loader is None:
        raise SystemExit(f"{bench}/evaluate.py not found: pass the benchmark's folder")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bench", type=Path, help="the article-extraction-benchmark folder")
    parser.add_argument("--bootstrap", type=int, default=200, help="bootstrap resamples for ±")
    parser.add_argument("--out", type=Path, help="write both predictions as JSON here")
    args = parser.parse_args(argv)
    evaluate = _evaluate_module(args.bench)
    truth = json.loads((args.bench / "ground-truth.json").read_text("utf-8"))
    limits = IngestSettings().limits()
    ours: dict[str, dict[str, str]] = {}
    theirs: dict[str, dict[str, str]] = {}
    lost: list[tuple[str, str]] = []
    extractors: dict[str, int] = {}
    seconds = {"wiredesk": 0.0, "trafilatura": 0.0}
    for path in sorted((args.bench / "html").glob("*.html.gz")):
        key = path.name.split(".")[0]
        html = gzip.decompress(path.read_bytes()).decode("utf-8", errors="replace")
        started = time.perf_counter()
        try:
            raw = parse_html(html, source="bench", locator=path.name)
            article = normalize(raw, limits)
            ours[key] = {"articleBody": article.text}
        except NormalizationError as exc:
            ours[key] = {"articleBody": ""}
            lost.append((key, f"{exc.reason}: {exc.error}"))
        seconds["wiredesk"] += time.perf_counter() - started
        started = time.perf_counter()
        theirs[key] = {"articleBody": trafilatura.extract(html, include_comments=False) or ""}
        seconds["trafilatura"] += time.perf_counter() - started
        from services.ingest.html import extract_html

        extractor = extract_html(html).extractor or "none"
        extractors[extractor] = extractors.get(extractor, 0) + 1
    truth = {key: truth[key] for key in ours}
    print(f"{len(ours)} pages; wiredesk lost {len(lost)}")
    for key, reason in lost:
        print(f"  lost {key[:16]}: {reason}")
    print("extraction pass that produced the text:", extractors)
    print(f"{'':<20} {'F1':<15} {'precision':<15} {'recall':<15} {'s/page':<8}")
    for name, prediction in (("wiredesk normalize", ours), ("trafilatura", theirs)):
        metrics = evaluate.evaluate(truth, prediction, args.bootstrap)
        per_page = seconds[name.split()[0]] / max(1, len(ours))
        print(
            f"{name:<20} {metrics['f1']:.4f} ± {metrics['f1_std']:.3f}  "
            f"{metrics['precision']:.4f} ± {metrics['precision_std']:.3f}  "
            f"{metrics['recall']:.4f} ± {metrics['recall_std']:.3f}   {per_page:.3f}"
        )
    if args.out:
        args.out.write_text(json.dumps({"wiredesk": ours, "trafilatura": theirs}), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
