"""The ``wiredesk`` command line: run services, replay files, inspect streams and stories."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

app = typer.Typer(
    name="wiredesk",
    help="News-wire ingestion pipeline on Redis Streams: replay -> ingest -> dedupe -> store.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err = Console(stderr=True)

SERVICE_HELP = "ingest (normalize raw articles), dedupe (group copies into stories), store (SQL)"


@app.command()
def run(
    service: Annotated[str, typer.Argument(help=SERVICE_HELP)],
) -> None:
    """Run one service in the foreground until SIGTERM/SIGINT (settings from WIREDESK_* env)."""
    if service == "ingest":
        from services.ingest.app import create_app
    elif service == "dedupe":
        from services.dedupe.app import create_app  # type: ignore[assignment]
    elif service == "store":
        from services.store.app import create_app  # type: ignore[assignment]
    else:
        err.print(f"[red]unknown service {service!r}[/]; choose one of: ingest, dedupe, store")
        raise typer.Exit(2)
    asyncio.run(create_app().run())


@app.command()
def replay(
    paths: Annotated[
        list[Path], typer.Argument(help=".txt/.html files, .jsonl (one per line), or folders")
    ],
    rate: Annotated[
        float | None, typer.Option(help="articles per second (default: full speed)")
    ] = None,
    loop: Annotated[bool, typer.Option(help="replay again and again until interrupted")] = False,
    source: Annotated[str, typer.Option(help="source name for files without one")] = "replay",
) -> None:
    """Publish files to the raw stream (REDIS_URL); the same files always get the same ids."""
    from redis.asyncio import Redis

    from wiredesk.replay import ReplayInputError, publish, read_articles
    from wiredesk.settings import WiredeskSettings

    settings = WiredeskSettings()
    try:
        articles = list(read_articles(paths, source=source))
    except ReplayInputError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from exc

    async def go() -> int:
        client = Redis.from_url(settings.redis_url)
        total = 0
        try:
            with Progress(
                TextColumn("replay"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=err,
            ) as progress:
                while True:
                    task = progress.add_task("replay", total=len(articles))

                    def advance(n: int, task: TaskID = task) -> None:
                        progress.advance(task, n)

                    total += await publish(
                        client, settings.streams.raw, articles, rate=rate, on_progress=advance
                    )
                    if not loop:
                        return total
        finally:
            await client.aclose()

    sent = asyncio.run(go())
    err.print(f"published {sent} articles to {settings.streams.raw}")


@app.command()
def demo(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="files to replay (default: seeds/)")
    ] = None,
) -> None:
    """Run the whole pipeline on a private Redis and SQLite, replay the seeds, print the stories."""
    from wiredesk.demo import DemoError, run_demo

    paths = paths or [Path("seeds")]
    with console.status("starting redis-server and the services, replaying ..."):
        try:
            result = run_demo(paths)
        except DemoError as exc:
            err.print(f"[red]demo failed:[/] {exc}")
            raise typer.Exit(1) from exc
    for story, members in result.stories:
        table = Table(
            title=f"story {story.story_id}: {story.canonical_title}",
            title_justify="left",
            show_lines=False,
        )
        for column in ("article", "file / url", "source", "method", "score", "canonical"):
            table.add_column(column)
        for member in members:
            table.add_row(
                member.id[:12],
                member.url,
                member.source,
                member.method,
                f"{member.score:.3f}",
                "*" if member.id == story.canonical_id else "",
            )
        console.print(table)
    console.print(
        f"{len(result.stories)} stories from {result.articles} articles in {result.seconds:.1f} s"
    )


@app.command(name="eval")
def evaluate(
    path: Annotated[
        Path, typer.Argument(help="JSONL: clusters (id, text, story) or pairs (a, b, overall)")
    ],
    assignments: Annotated[
        Path | None, typer.Option(help="write {id, story_id} per article to this JSONL file")
    ] = None,
) -> None:
    """Dedupe quality on labelled data, through ingest's normalization and the dedupe stage.

    Uses REDIS_URL (in a fresh namespace, removed afterwards) or a private redis-server. Prints a
    table; the last line of output is one JSON object with every metric.
    """
    import os

    import orjson

    from wiredesk.embedded import EmbeddedRedis
    from wiredesk.evaluation.datasets import ClusterSet, load
    from wiredesk.evaluation.runner import cluster_metrics, pair_metrics, run_dedupe

    try:
        data = load(path)
    except (OSError, ValueError, KeyError) as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from exc

    def go(redis_url: str) -> dict[str, object]:
        with Progress(
            TextColumn("dedupe"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
        ) as progress:
            task = progress.add_task("dedupe", total=len(data.documents))

            def advance(n: int) -> None:
                progress.advance(task, n)

            outcome, stage = asyncio.run(run_dedupe(redis_url, data.documents, on_progress=advance))
        if assignments is not None:
            with assignments.open("wb") as handle:
                for doc_id, story_id in outcome.assignments.items():
                    handle.write(orjson.dumps({"id": doc_id, "story_id": story_id}) + b"\n")
        if isinstance(data, ClusterSet):
            return cluster_metrics(data, outcome)
        return pair_metrics(data, outcome, stage)

    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        metrics = go(redis_url)
    else:
        with EmbeddedRedis() as server:
            metrics = go(server.url)
    table = Table("metric", "value", title=str(path), title_justify="left")
    for key, value in metrics.items():
        table.add_row(key, str(value))
    console.print(table)
    print(orjson.dumps({"file": path.name, **metrics}).decode())


@app.command()
def schema(
    out: Annotated[Path, typer.Option(help="directory for the JSON Schema files")] = Path(
        "schemas"
    ),
) -> None:
    """Write the JSON Schema of every stream message (raw.v1, article.v1, ...)."""
    from wiredesk.schemas import write_schemas

    for path in write_schemas(out):
        console.print(str(path))


@app.command()
def status() -> None:
    """Streams, consumer groups, pending entries and lag (REDIS_URL)."""
    import redis

    from wiredesk.settings import WiredeskSettings

    settings = WiredeskSettings()
    client = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    table = Table("stream", "length", "group", "consumers", "pending", "lag", "last delivered")
    for stream in settings.streams.model_dump().values():
        length = client.xlen(stream)
        groups = client.xinfo_groups(stream) if client.exists(stream) else []
        if not groups:
            table.add_row(stream, str(length), "-", "-", "-", "-", "-")
        for group in groups:
            table.add_row(
                stream,
                str(length),
                group["name"],
                str(group["consumers"]),
                str(group["pending"]),
                str(group.get("lag", "?")),
                group["last-delivered-id"],
            )
    console.print(table)


@app.command()
def stories(
    limit: Annotated[int, typer.Option(help="how many, newest first")] = 20,
) -> None:
    """List stored stories (DATABASE_URL): story, canonical title, size, sources, first seen."""
    from services.store.db import SqliteStore
    from services.store.settings import StoreSettings

    store = SqliteStore.from_url(StoreSettings().database_url)
    table = Table("story", "canonical title", "size", "sources", "first seen")
    for story in store.stories(limit=limit):
        table.add_row(
            story.story_id[:12],
            story.canonical_title[:70],
            str(story.size),
            ", ".join(story.sources),
            story.first_seen[:19],
        )
    console.print(table)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
