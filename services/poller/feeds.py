"""The configured feed list: URLs from a file and/or the environment, each with a source name."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["Feed", "FeedListError", "load_feeds"]


class FeedListError(ValueError):
    """A feed list that cannot be used (a line that is not an http(s) URL)."""


@dataclass(frozen=True, slots=True)
class Feed:
    url: str
    source: str
    """The source name the feed's items are published under (default: the URL's host)."""


def _feed(url: str, source: str | None, where: str) -> Feed:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise FeedListError(f"{where}: {url!r} is not an http(s) URL")
    return Feed(url=url, source=source or parts.hostname or url)


def load_feeds(urls: str, path: Path | None) -> list[Feed]:
    """Every configured feed once, file entries first, in order."""
    feeds: list[Feed] = []
    if path is not None:
        for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            url, _, source = text.partition(" ")
            feeds.append(_feed(url, source.strip() or None, f"{path}:{number}"))
    for url in re.split(r"[\s,]+", urls.strip()):
        if url:
            feeds.append(_feed(url, None, "WIREDESK_POLLER_FEEDS"))
    unique: dict[str, Feed] = {}
    for feed in feeds:
        unique.setdefault(feed.url, feed)
    return list(unique.values())
