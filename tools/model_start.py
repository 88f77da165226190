"""How long the dedupe model takes to load: ``MiniLMEncoder(backend=...)`` in a fresh process.

    python tools/model_start.py                 # onnx backend, 5 fresh processes
    python tools/model_start.py --runs 9 --backend numpy

Each run is a new interpreter (imports paid once, page cache warm after the first run), timing
the imports and the constructor separately, with the process's peak RSS and its RSS after one
encode (Linux: /proc/self/statm).
Prints one line per run and the medians; written for the prebuilt-graph change (issue 18,
docs/performance.md); the code measured is the checkout it is run from (the working directory).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

_CHILD = """
import json, resource, sys, time
t0 = time.perf_counter()
from services.dedupe.embedding import MiniLMEncoder
t1 = time.perf_counter()
encoder = MiniLMEncoder(backend=sys.argv[1], threads=int(sys.argv[2]))
t2 = time.perf_counter()
encoder.encode(["A warm-up sentence."])
t3 = time.perf_counter()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with open("/proc/self/statm") as statm:
    now = int(statm.read().split()[1]) * resource.getpagesize() / 2**20
times = {"import_s": t1 - t0, "load_s": t2 - t1, "first_s": t3 - t2}
print(json.dumps({**times, "rss_mb": rss / 1024, "rss_now_mb": now}))
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh processes (default 5)")
    parser.add_argument("--backend", choices=["onnx", "numpy"], default="onnx")
    parser.add_argument("--threads", type=int, default=2, help="ONNX Runtime threads")
    args = parser.parse_args(argv)
    rows = []
    for run in range(args.runs):
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, args.backend, str(args.threads)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        row = json.loads(out.strip().splitlines()[-1])
        rows.append(row)
        print(
            f"run {run + 1}: import {row['import_s']:.2f} s, load {row['load_s']:.2f} s, "
            f"first encode {row['first_s']:.3f} s, peak RSS {row['rss_mb']:.0f} MB, "
            f"RSS after {row['rss_now_mb']:.0f} MB"
        )
    medians = {key: statistics.median(r[key] for r in rows) for key in rows[0]}
    print(
        f"median of {args.runs}: import {medians['import_s']:.2f} s, "
        f"load {medians['load_s']:.2f} s, first encode {medians['first_s']:.3f} s, "
        f"peak RSS {medians['rss_mb']:.0f} MB, RSS after {medians['rss_now_mb']:.0f} MB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
