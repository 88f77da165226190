"""Consume ``articles:unique`` with FastStream: one subscriber, its own consumer group.

    python examples/consume_unique_faststream.py --group my-service --out seen.tsv

- The group is created at ``0`` with ``MKSTREAM`` before FastStream starts (FastStream would
  create it at ``$`` and skip every story published before the first start).
- Before subscribing, the consumer's own pending entries (delivered before a crash, never acked)
  are handled: FastStream's reader only asks for new entries (``>``).
- The handler validates the entry as :class:`wiredesk.messages.AnnotatedArticle`, does its work,
  then acks (``AckPolicy.MANUAL`` + ``message.ack()`` after the work, so a crash mid-work leaves
  the entry pending for a retry). Work is idempotent by ``story_id`` (``--out`` is the record).

Prints one line per story: ``<story_id>\\t<source>\\t<title>``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
from pathlib import Path
from typing import Any

from faststream import AckPolicy, Context, FastStream
from faststream.redis import RedisBroker, StreamSub
from faststream.redis.message import RedisStreamMessage
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from wiredesk.messages import AnnotatedArticle, MalformedMessage, decode_entry


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://localhost:6379/0")
    )
    parser.add_argument(
        "--stream", default=os.environ.get("WIREDESK_STREAMS__UNIQUE", "articles:unique")
    )
    parser.add_argument("--group", default="example-faststream", help="your service's group")
    parser.add_argument("--consumer", default=socket.gethostname(), help="stable per replica")
    parser.add_argument("--out", type=Path, help="append one line per story (idempotency record)")
    return parser.parse_args(argv)


class Work:
    """The consumer's own work: print (and record) each story once."""

    def __init__(self, out: Path | None) -> None:
        self.out = out
        self.seen: set[str] = set()
        if out is not None and out.exists():
            self.seen = {line.split("\t", 1)[0] for line in out.read_text().splitlines()}

    def do(self, fields: dict[bytes, bytes]) -> None:
        try:
            article = decode_entry(fields, AnnotatedArticle, max_bytes=10_000_000)
        except MalformedMessage as exc:
            print(f"skipping malformed entry: {exc}", flush=True)
            return
        if article.story_id in self.seen:
            return
        line = f"{article.story_id}\t{article.source}\t{article.title}"
        if self.out is not None:
            with self.out.open("a") as handle:
                handle.write(line + "\n")
                handle.flush()
                os.fsync(handle.fileno())
        self.seen.add(article.story_id)
        print(line, flush=True)


def build(args: argparse.Namespace) -> FastStream:
    broker = RedisBroker(args.redis_url)
    work = Work(args.out)

    @broker.subscriber(
        stream=StreamSub(args.stream, group=args.group, consumer=args.consumer),
        ack_policy=AckPolicy.MANUAL,
    )
    async def on_story(message: RedisStreamMessage = Context("message")) -> None:
        raw: Any = message.raw_message
        work.do(raw["data"])
        await message.ack()

    async def prepare() -> None:
        client = Redis.from_url(args.redis_url)
        try:
            try:
                await client.xgroup_create(args.stream, args.group, id="0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
            while True:  # our pending entries from before a restart
                reply: Any = await client.xreadgroup(
                    args.group, args.consumer, {args.stream: "0"}, count=100
                )
                entries = [(i, f) for _, es in reply or [] for i, f in es]
                for entry_id, fields in entries:
                    if fields:
                        work.do(fields)
                    await client.xack(args.stream, args.group, entry_id)
                if not entries:
                    break
        finally:
            await client.aclose()

    app = FastStream(broker)
    app.on_startup(prepare)
    return app


def main(argv: list[str] | None = None) -> None:
    asyncio.run(build(parse_args(argv)).run())


if __name__ == "__main__":
    main()
