"""Keep a copy of every story current from ``articles:stories`` alone (story.v1 events).

    python examples/story_copy.py --group my-copy --out stories.json

How it works (docs/consumers.md, "Keeping a copy of every story current"):

- every event is the story's whole header after one change: ``revision``, ``event``
  (``created``/``updated``/``killed``), live ``members``, ``canonical`` (``{id, guid, version,
  title}``, null once killed) and the ``cause``. So a copy needs no history: it keeps, per
  ``story_id``, the event with the highest ``revision``;
- idempotent by ``story_id`` + ``revision``: an event whose revision is not above the one the
  copy holds is a redelivery (or arrived after a later one) and changes nothing;
- at-least-once: the copy is written (to a temporary file, fsynced, renamed over ``--out``)
  *before* the entries are acknowledged; a crash in between redelivers them and the revision
  check skips them;
- a consumer group of its own, created at ``0`` (every retained event), its own pending
  entries first after a restart, then new ones; ``--until-idle S`` exits once nothing new came
  for S seconds (for tests and batch jobs), SIGTERM/SIGINT exit after the batch in hand.

``--out`` holds ``{story_id: {revision, event, members, canonical, killed, cause}}``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

import redis

from wiredesk.messages import MalformedMessage, decode_entry
from wiredesk.story_events import StoryEvent


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://localhost:6379/0")
    )
    parser.add_argument(
        "--stream", default=os.environ.get("WIREDESK_STREAMS__STORIES", "articles:stories")
    )
    parser.add_argument("--group", default="story-copy", help="your service's own group")
    parser.add_argument("--consumer", default=socket.gethostname(), help="stable per replica")
    parser.add_argument("--out", type=Path, required=True, help="the copy (a JSON document)")
    parser.add_argument("--count", type=int, default=100, help="entries per read")
    parser.add_argument("--until-idle", type=float, default=None, help="exit after S idle s")
    return parser.parse_args(argv)


def apply(copy: dict[str, dict[str, Any]], event: StoryEvent) -> bool:
    """Put the event in the copy unless the copy already holds this revision or a later one."""
    known = copy.get(event.story_id)
    if known is not None and known["revision"] >= event.revision:
        return False
    copy[event.story_id] = {
        "revision": event.revision,
        "event": event.event,
        "members": event.members,
        "canonical": event.canonical.model_dump(mode="json") if event.canonical else None,
        "killed": event.event == "killed",
        "cause": event.cause.model_dump(mode="json"),
    }
    return True


class StoryCopy:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.client = redis.Redis.from_url(args.redis_url)
        self.stopping = False
        self.copy: dict[str, dict[str, Any]] = {}
        if args.out.exists():
            self.copy = json.loads(args.out.read_text(encoding="utf-8"))

    def ensure_group(self) -> None:
        try:
            self.client.xgroup_create(self.args.stream, self.args.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def save(self) -> None:
        """Durably, before any ack: write a temporary file, fsync it, rename it over --out."""
        temporary = self.args.out.with_suffix(self.args.out.suffix + ".tmp")
        with temporary.open("w", encoding="utf-8") as out:
            json.dump(self.copy, out, sort_keys=True, indent=1)
            out.flush()
            os.fsync(out.fileno())
        temporary.replace(self.args.out)

    def handle(self, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> None:
        changed = False
        for entry_id, fields in entries:
            try:
                event = decode_entry(fields, StoryEvent, max_bytes=10_000_000)
            except MalformedMessage as exc:  # not ours to fix: log, ack, move on
                print(f"skipping malformed entry {entry_id.decode()}: {exc}", file=sys.stderr)
                continue
            if apply(self.copy, event):
                changed = True
                canonical = event.canonical.id if event.canonical else "-"
                print(f"{event.story_id}\tr{event.revision}\t{event.event}\t{canonical}")
        if changed:
            self.save()
        if entries:
            self.client.xack(self.args.stream, self.args.group, *(e for e, _ in entries))

    def read(self, start: str) -> list[tuple[bytes, dict[bytes, bytes]]]:
        reply: Any = self.client.xreadgroup(
            self.args.group,
            self.args.consumer,
            {self.args.stream: start},
            count=self.args.count,
            block=None if start == "0" else 500,
        )
        return [(eid, fields) for _, entries in reply or [] for eid, fields in entries if fields]

    def run(self) -> None:
        self.ensure_group()
        start = "0"  # our own pending entries first, then new ones
        idle_since = time.monotonic()
        while not self.stopping:
            entries = self.read(start)
            if start == "0" and not entries:
                start = ">"
                continue
            if entries:
                idle_since = time.monotonic()
                self.handle(entries)
            elif (
                self.args.until_idle is not None
                and time.monotonic() - idle_since >= self.args.until_idle
            ):
                return

    def stop(self, signum: int, frame: FrameType | None) -> None:
        del signum, frame
        self.stopping = True


def main(argv: list[str] | None = None) -> None:
    consumer = StoryCopy(parse_args(argv))
    signal.signal(signal.SIGTERM, consumer.stop)
    signal.signal(signal.SIGINT, consumer.stop)
    consumer.run()


if __name__ == "__main__":
    main()
