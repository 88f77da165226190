"""Print the hostile-input case table: run every case against a private pipeline and show, per
case, what was expected, what happened, how long it took and how long the probe waited.

    .venv/bin/python -m tests.hostile.report

Starts its own redis-server (the embedded server, as the test suite does) unless REDIS_URL is
set. Exit status 1 when any case is not handled as the table says.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

from tests.hostile.cases import all_cases
from tests.hostile.runner import Outcome, run_cases
from wiredesk.embedded import EmbeddedRedis

MAX_WAIT_S = float(os.environ.get("WIREDESK_HOSTILE_MAX_WAIT_S", "3"))


def handled(o: Outcome) -> bool:
    c = o.case
    return (
        o.got == c.expect
        and (c.expect != "dlq" or o.reason == c.reason)
        and (c.expect != "stored" or bool(o.stored_ok))
        and o.outcome_s < MAX_WAIT_S
        and o.probe_wait_s is not None
        and o.probe_wait_s < MAX_WAIT_S
    )


def main() -> int:
    cases = all_cases()
    with tempfile.TemporaryDirectory() as tmp:
        if os.environ.get("REDIS_URL"):
            outcomes, services, _ = asyncio.run(
                run_cases(cases, redis_url=os.environ["REDIS_URL"], tmp=Path(tmp))
            )
            services.stop()
        else:
            with EmbeddedRedis() as server:
                outcomes, services, _ = asyncio.run(
                    run_cases(cases, redis_url=server.url, tmp=Path(tmp))
                )
                services.stop()
    ok = 0
    print(f"{'case':58} {'expected':24} {'got':24} {'done s':>7} {'probe s':>7}  ok")
    for case in cases:
        o = outcomes[case.name]
        good = handled(o)
        ok += good
        expected = f"{case.expect} {case.reason}".strip()
        got = f"{o.got} {o.reason}".strip()
        probe = f"{o.probe_wait_s:7.3f}" if o.probe_wait_s is not None else "  never"
        mark = "yes" if good else "NO"
        print(f"{case.name[:58]:58} {expected:24} {got:24} {o.outcome_s:7.3f} {probe}  {mark}")
    waits = sorted(o.probe_wait_s for o in outcomes.values() if o.probe_wait_s is not None)
    by_stream: dict[str, int] = {}
    for case in cases:
        by_stream[case.stream] = by_stream.get(case.stream, 0) + 1
    streams = ", ".join(f"{k} {v}" for k, v in by_stream.items())
    print(
        f"\n{ok} of {len(cases)} kinds handled ({streams});"
        f" probe wait median {waits[len(waits) // 2]:.3f} s, max {waits[-1]:.3f} s"
        if waits
        else f"\n{ok} of {len(cases)} kinds handled"
    )
    return 0 if ok == len(cases) else 1


if __name__ == "__main__":
    sys.exit(main())
