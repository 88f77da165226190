"""Consume ``articles:unique`` with plain redis-py: each story once, resumable after a crash.

    python examples/consume_unique_redis_py.py --group my-service --out seen.tsv

How it works (see docs/consumers.md):

- ``XGROUP CREATE <stream> <group> 0 MKSTREAM``: the group starts at the beginning of the stream
  (not ``$``), so stories published before this service first ran are not skipped;
- on start, first re-read *this consumer's* pending entries (``XREADGROUP ... 0``): entries that
  were delivered before a crash or SIGKILL but never acknowledged; then read new ones (``>``);
- for each entry: validate it as ``AnnotatedArticle``, do the work, then ``XACK``. Delivery is
  at-least-once, so the work is idempotent by ``story_id``: here the work is appending one line to
  ``--out``, which doubles as the record of what was done (it is re-read on start);
- SIGTERM/SIGINT: finish the entry in hand, exit 0. Use the same ``--consumer`` name after a
  restart to pick up its own pending entries (a different name would leave them to XAUTOCLAIM).

Prints one line per story: ``<story_id>\\t<source>\\t<title>``.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

import redis

from wiredesk.messages import AnnotatedArticle, MalformedMessage, decode_entry


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://localhost:6379/0")
    )
    parser.add_argument(
        "--stream", default=os.environ.get("WIREDESK_STREAMS__UNIQUE", "articles:unique")
    )
    parser.add_argument("--group", default="example-consumer", help="your service's own group")
    parser.add_argument("--consumer", default=socket.gethostname(), help="stable per replica")
    parser.add_argument("--out", type=Path, help="append one line per story (idempotency record)")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds of simulated work")
    parser.add_argument("--count", type=int, default=10, help="entries per read")
    return parser.parse_args(argv)


class Consumer:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.client = redis.Redis.from_url(args.redis_url)
        self.stopping = False
        self.seen: set[str] = set()
        if args.out is not None and args.out.exists():
            self.seen = {line.split("\t", 1)[0] for line in args.out.read_text().splitlines()}

    def ensure_group(self) -> None:
        try:
            self.client.xgroup_create(self.args.stream, self.args.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def handle(self, entry_id: bytes, fields: dict[bytes, bytes]) -> None:
        try:
            article = decode_entry(fields, AnnotatedArticle, max_bytes=10_000_000)
        except MalformedMessage as exc:  # not ours to fix: log, ack, move on
            print(f"skipping malformed entry {entry_id.decode()}: {exc}", file=sys.stderr)
        else:
            if article.story_id not in self.seen:  # redelivered after a crash: already done
                time.sleep(self.args.delay)
                line = f"{article.story_id}\t{article.source}\t{article.title}"
                if self.args.out is not None:
                    with self.args.out.open("a") as out:
                        out.write(line + "\n")
                        out.flush()
                        os.fsync(out.fileno())
                self.seen.add(article.story_id)
                print(line, flush=True)
        self.client.xack(self.args.stream, self.args.group, entry_id)

    def read(self, start: str) -> list[tuple[bytes, dict[bytes, bytes]]]:
        reply: Any = self.client.xreadgroup(
            self.args.group,
            self.args.consumer,
            {self.args.stream: start},
            count=self.args.count,
            block=None if start == "0" else 1000,
        )
        return [(eid, fields) for _, entries in reply or [] for eid, fields in entries if fields]

    def run(self) -> None:
        self.ensure_group()
        start = "0"  # our own pending entries first, then new ones
        while not self.stopping:
            entries = self.read(start)
            if start == "0" and not entries:
                start = ">"
                continue
            for entry_id, fields in entries:
                self.handle(entry_id, fields)
                if self.stopping:
                    break

    def stop(self, signum: int, frame: FrameType | None) -> None:
        del signum, frame
        self.stopping = True


def main(argv: list[str] | None = None) -> None:
    consumer = Consumer(parse_args(argv))
    signal.signal(signal.SIGTERM, consumer.stop)
    signal.signal(signal.SIGINT, consumer.stop)
    consumer.run()


if __name__ == "__main__":
    main()
