"""Throughput of ``normalize`` on this machine: ``python -m services.ingest.bench``.

Plain text uses the seeds; HTML wraps each seed in a typical article page (head metadata,
navigation, scripts, styles, share bar, footer), so the number includes trafilatura's work.
One process, one core: replicas scale it linearly because normalization shares no state.
"""

from __future__ import annotations

import argparse
import html
import time
from pathlib import Path

from services.ingest.lang import detect_language
from services.ingest.normalize import normalize
from wiredesk.messages import RawArticle

_ROOT = Path(__file__).resolve().parents[2]
_PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{title} | Example News</title>
<link rel="canonical" href="https://news.example/{n}">
<meta property="article:published_time" content="2024-12-15T10:00:00+00:00">
<style>body{{font:16px serif}} .nav li{{display:inline}}</style>
<script>window.dataLayer=[];function t(){{return 1}}</script></head>
<body><header><nav class="nav"><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li>
<li><a href="/politics">Politics</a></li></ul></nav></header>
<main><article><h1>{title}</h1>{paragraphs}
<p>Share on Facebook Share on X Share via Email</p></article></main>
<aside><h3>Most read</h3><ul><li><a href="/1">Other story one</a></li></ul></aside>
<footer><p>© 2024 Example News. All rights reserved.</p></footer></body></html>"""


def _documents() -> tuple[list[RawArticle], list[RawArticle]]:
    plain: list[RawArticle] = []
    pages: list[RawArticle] = []
    for n, path in enumerate(sorted((_ROOT / "seeds").glob("*.txt"))):
        body = path.read_text("utf-8")
        plain.append(RawArticle(id=path.stem, source="bench", url=str(path), body=body))
        lines = [line.strip() for line in body.splitlines() if line.strip()]
        page = _PAGE.format(
            n=n,
            title=html.escape(lines[0][:80]),
            paragraphs="".join(f"<p>{html.escape(line)}</p>" for line in lines),
        )
        pages.append(
            RawArticle(
                id=f"{path.stem}-html",
                source="bench",
                url=f"https://news.example/{n}",
                content_type="text/html",
                body=page,
            )
        )
    return plain, pages


def _rate(docs: list[RawArticle], seconds: float) -> tuple[float, float, int]:
    """Articles per wall-clock second and per CPU second of this process.

    The CPU figure is the one to compare across runs on a shared machine: other processes
    stretch wall time, not this process's CPU time.
    """
    done = 0
    wall, cpu = time.perf_counter(), time.process_time()
    while (elapsed := time.perf_counter() - wall) < seconds:
        for doc in docs:
            normalize(doc)
        done += len(docs)
    return done / elapsed, done / (time.process_time() - cpu), done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="time per content type")
    args = parser.parse_args()
    plain, pages = _documents()
    start = time.perf_counter()
    detect_language("warm up the language model once before timing")
    print(f"language model load: {time.perf_counter() - start:.2f} s (once per process)")
    for name, docs in (("text/plain", plain), ("text/html", pages)):
        size = sum(len(d.body) for d in docs) / len(docs)
        wall, cpu, done = _rate(docs, args.seconds)
        print(
            f"{name}: {wall:,.0f} articles/s wall, {cpu:,.0f} per CPU-second "
            f"({done} articles, mean {size:,.0f} chars)"
        )


if __name__ == "__main__":
    main()
