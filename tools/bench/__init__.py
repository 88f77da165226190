"""``wiredesk bench``: wiredesk's throughput, latency and memory next to the Redis limit.

Run ``python -m tools.bench --help`` (or ``wiredesk bench``, ``make bench``); see
docs/performance.md for what each number means and how it is measured.
"""

from __future__ import annotations

from tools.bench.run import BenchOptions, main, parse_args, run

__all__ = ["BenchOptions", "main", "parse_args", "run"]
