"""``wiredesk bench``: wiredesk's throughput, latency and memory next to the Redis limit.

Run ``python -m wiredesk.bench --help`` (or ``wiredesk bench``, ``make bench``); see
docs/performance.md for what each number means and how it is measured.
"""

from __future__ import annotations

from wiredesk.bench.run import BenchOptions, main, parse_args, run

__all__ = ["BenchOptions", "main", "parse_args", "run"]
