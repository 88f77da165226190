"""The ``wiredesk`` command line: run services, replay files, inspect streams and stories."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from wiredesk.safeconsole import SafeConsole

if TYPE_CHECKING:
    import redis

    from services.store.base import Store
    from wiredesk.settings import WiredeskSettings

app = typer.Typer(
    name="wiredesk",
    help="News-wire ingestion pipeline on Redis Streams: replay -> ingest -> dedupe -> store.",
    no_args_is_help=True,
    add_completion=False,
)
# Article text, titles and errors are data from outside: never interpret them as rich markup
# (a title "[link=http://evil]..." must print as written). Our own colours go through `err`,
# whose interpolated values are escaped.
# SafeConsole also strips terminal control sequences from everything it renders.
console = SafeConsole(markup=False, emoji=False, highlight=False)
err = SafeConsole(stderr=True)

SERVICE_HELP = (
    "ingest (normalize raw articles), dedupe (group copies into stories), store (SQL), "
    "api (read-only HTTP API over the store), "
    "poller (fetch feeds into articles:raw, WIREDESK_POLLER_FEEDS), "
    "push (POST /v1/items into articles:raw, WIREDESK_PUSH_KEYS)"
)


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
    elif service == "push":
        from services.push.server import serve as serve_push

        serve_push()
        return
    elif service == "poller":
        from services.poller.app import main as poller_main

        raise typer.Exit(poller_main())
    elif service == "api":
        from services.api.server import serve

        serve()
        return
    else:
        choices = "ingest, dedupe, store, api, poller, push"
        err.print(f"[red]unknown service {escape(repr(service))}[/]; choose one of: {choices}")
        raise typer.Exit(2)
    asyncio.run(create_app().run())


@app.command()
def replay(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="files or folders: ninjs, NewsML-G2, RSS/Atom/JSON Feed, raw.v2 JSON, .txt, "
            ".html, .jsonl (one per line); the format is read from the content"
        ),
    ],
    rate: Annotated[
        float | None, typer.Option(help="articles per second (default: full speed)")
    ] = None,
    loop: Annotated[bool, typer.Option(help="replay again and again until interrupted")] = False,
    source: Annotated[str, typer.Option(help="source name for files without one")] = "replay",
) -> None:
    """Publish files to the raw stream (REDIS_URL); the same files always get the same ids."""
    from wiredesk.app.files import ReplayInputError, split_items
    from wiredesk.replay import publish, publish_rejected
    from wiredesk.settings import WiredeskSettings

    settings = WiredeskSettings()
    try:
        articles, rejected = split_items(paths, source=source)
    except ReplayInputError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    for item in rejected:  # dead-lettered below (wiredesk dlq list), never dropped
        err.print(f"[yellow]{escape(item.locator)}[/]: {item.reason}: {escape(item.error)}")

    async def go() -> int:
        from wiredesk.topology import Topology

        topology = await Topology.connect(settings)  # cluster mode, partitions, WAIT
        client = topology.client
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
                        client,  # type: ignore[arg-type]
                        settings.streams.raw,
                        articles,
                        rate=rate,
                        on_progress=advance,
                        route=None if topology.legacy else topology.raw_for,
                        confirm=topology.confirm,
                    )
                    if rejected and total == len(articles):  # dead letters once, not per loop
                        await publish_rejected(
                            client,  # type: ignore[arg-type]
                            topology.keys.dlq(0),  # partition 0's letters on a partitioned layout
                            rejected,
                        )
                    if not loop:
                        return total
        finally:
            await client.aclose()

    from wiredesk.cluster import ReplicationShort

    try:
        sent = asyncio.run(go())
    except ReplicationShort as exc:  # WIREDESK_WAIT_REPLICAS: not safely published
        err.print(f"[red]error:[/] {escape(str(exc))}; replay again (copies are dropped)")
        raise typer.Exit(1) from exc
    err.print(f"published {sent} articles to {settings.streams.raw}")
    if rejected:
        err.print(f"dead-lettered {len(rejected)} items (wiredesk dlq list)")


@app.command()
def demo(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="files to replay (default: seeds/)")
    ] = None,
) -> None:
    """Run the whole pipeline on a private Redis and SQLite, replay the seeds, print the stories."""
    from wiredesk.app.demo import DemoError, run_demo

    paths = paths or [Path("seeds")]
    with console.status("starting redis-server and the services, replaying ..."):
        try:
            result = run_demo(paths)
        except DemoError as exc:
            err.print(f"[red]demo failed:[/] {escape(str(exc))}")
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


@app.command(name="normalize")
def normalize_files(
    paths: Annotated[
        list[Path],
        typer.Argument(help="files or folders in any format replay reads (ninjs, NewsML-G2, ...)"),
    ],
    source: Annotated[str, typer.Option(help="source name for files without one")] = "replay",
) -> None:
    """Run exactly ingest's normalization on files: one Article JSON per line on stdout.

    For debugging a source: what would ingest keep, strip (see "stripped") and detect?
    Articles that ingest would dead-letter are reported on stderr and make the exit code 1.
    """
    from services.ingest.formats import Rejected
    from services.ingest.normalize import NormalizationError, normalize
    from services.ingest.settings import IngestSettings
    from wiredesk.app.files import ReplayInputError, read_items

    limits = IngestSettings().limits()
    failed = 0
    try:
        for raw in read_items(paths, source=source):
            if isinstance(raw, Rejected):
                failed += 1
                err.print(f"[yellow]{escape(raw.locator)}[/]: {raw.reason}: {escape(raw.error)}")
                continue
            try:
                article = normalize(raw, limits)
            except NormalizationError as exc:
                failed += 1
                err.print(f"[yellow]{escape(raw.url)}[/]: {exc.reason}: {escape(exc.error)}")
                continue
            sys.stdout.buffer.write(article.to_json() + b"\n")
    except ReplayInputError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    if failed:
        raise typer.Exit(1)


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def bench(ctx: typer.Context) -> None:
    """Throughput, latency and memory next to the raw Redis limit (docs/performance.md; --help)."""
    from wiredesk.app.tooling import tooling_missing

    try:
        from tools.bench import main as bench_main
    except ModuleNotFoundError as exc:
        tooling_missing(exc, "bench")

    raise typer.Exit(bench_main(list(ctx.args)))


@app.command()
def acl(
    password_prefix: Annotated[
        str,
        typer.Option(
            help="read each user's password from the environment variable PREFIX<USER>, "
            "e.g. WIREDESK_ACL_PASSWORD_INGEST"
        ),
    ] = "WIREDESK_ACL_PASSWORD_",  # noqa: S107 (a variable-name prefix, not a password)
    aclfile: Annotated[
        bool, typer.Option(help="print aclfile lines instead of ACL SETUSER")
    ] = False,
    lock_default: Annotated[
        bool,
        typer.Option(
            help="also give the 'default' user PREFIXDEFAULT's password, or switch it off "
            "when that is unset (keep an admin user of your own first)"
        ),
    ] = True,
    redis7: Annotated[
        bool,
        typer.Option(
            "--redis7/--redis6",
            help="Redis >= 7 selectors: each key only the commands used on it (the default; "
            "--redis6 for Redis 6.2, which grants commands and keys independently)",
        ),
    ] = True,
) -> None:
    """Least-privilege Redis users per service (ingest, dedupe, store, producer, reader).

    Derived from the configured stream names and key prefix; users without a password in the
    environment are left out. See docs/security.md.
    """
    import os

    from wiredesk.acl import setuser_commands
    from wiredesk.settings import WiredeskSettings

    users = ("ingest", "dedupe", "store", "producer", "reader")
    passwords = {u: os.environ.get(f"{password_prefix}{u.upper()}", "") for u in users}
    commands = setuser_commands(
        WiredeskSettings(),
        passwords,
        default_password=os.environ.get(f"{password_prefix}DEFAULT") or None,
        lock_default=lock_default,
        selectors=redis7,
    )
    if not commands:
        err.print(f"[red]no passwords:[/] set {password_prefix}INGEST, ... for the users to create")
        raise typer.Exit(2)
    for command in commands:
        words = command[2:] if aclfile else command
        print(("user " if aclfile else "") + " ".join(words))


@app.command(name="eval")
def evaluate(
    path: Annotated[
        Path, typer.Argument(help="JSONL: clusters (id, text, story) or pairs (a, b, overall)")
    ],
    assignments: Annotated[
        Path | None, typer.Option(help="write {id, story_id} per article to this JSONL file")
    ] = None,
    decisions: Annotated[
        Path | None,
        typer.Option(
            help="write every article's whole verdict (story, method, duplicate_of, score, "
            "evidence, canonical), sorted by id, to this JSONL file: two runs decide alike "
            "exactly when the files are byte-identical"
        ),
    ] = None,
) -> None:
    """Dedupe quality on labelled data, through ingest's normalization and the dedupe stage.

    Uses REDIS_URL or WIREDESK_REDIS_URL (in a fresh namespace, removed afterwards) or a private
    redis-server. Prints a
    table; the last line of output is one JSON object with every metric.
    """
    import orjson

    from wiredesk.app.tooling import tooling_missing
    from wiredesk.embedded import EmbeddedRedis
    from wiredesk.settings import WiredeskSettings

    try:
        from tools.evaluation.datasets import ClusterSet, load
        from tools.evaluation.runner import cluster_metrics, pair_metrics, run_dedupe
    except ModuleNotFoundError as exc:
        tooling_missing(exc, "eval")

    try:
        data = load(path)
    except (OSError, ValueError, KeyError) as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
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
        if decisions is not None:
            with decisions.open("wb") as handle:
                for doc_id in sorted(outcome.decisions):
                    handle.write(orjson.dumps(outcome.decisions[doc_id]) + b"\n")
        if isinstance(data, ClusterSet):
            return cluster_metrics(data, outcome)
        return pair_metrics(data, outcome, stage)

    redis_url = WiredeskSettings().given_redis_url
    if redis_url:
        metrics = go(redis_url)
    else:
        with EmbeddedRedis() as server:
            metrics = go(server.url)
    table = Table("metric", "value", title=str(path), title_justify="left")
    for key, value in metrics.items():
        if key not in ("groups", "crossval"):
            table.add_row(key, str(value))
    console.print(table)
    from tools.evaluation.report import print_groups

    print_groups(console, metrics)
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
def asyncapi(
    out: Annotated[Path, typer.Option(help="file for the AsyncAPI document")] = Path(
        "schemas/asyncapi.json"
    ),
) -> None:
    """Write the AsyncAPI document of every stream (publishers, consumer groups, payloads)."""
    from services.api.asyncapi import asyncapi_json

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(asyncapi_json())
    console.print(str(out))


def _redis() -> tuple[redis.Redis, WiredeskSettings]:
    from wiredesk.cluster import sync_client
    from wiredesk.settings import WiredeskSettings

    settings = WiredeskSettings()
    return sync_client(settings), settings  # RedisCluster on a cluster (WIREDESK_REDIS_CLUSTER)


def _dlq_streams(client: redis.Redis, settings: WiredeskSettings) -> list[str]:
    """The dead-letter stream of every partition (one without partitions)."""
    from wiredesk.status import pipeline_keys

    keys = pipeline_keys(client, settings)
    return [keys.dlq(p) for p in keys.all_partitions]


def _store() -> Store:
    from services.store.db import open_store
    from services.store.settings import StoreSettings

    try:
        return open_store(StoreSettings().database_url)
    except ValueError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from exc


def _dash(value: object) -> str:
    return "-" if value is None else str(value)


@app.command()
def status() -> None:
    """Streams, consumer groups, lag, pending entries, dead letters and items held for an
    embargo with the next release time (REDIS_URL)."""
    from wiredesk.status import collect

    client, settings = _redis()
    snapshot = collect(client, settings)
    table = Table(
        "stream", "length", "group", "consumers", "pending", "lag", "last delivered", "idle"
    )
    for row in snapshot.rows:
        table.add_row(
            row.stream,
            str(row.length),
            _dash(row.group),
            _dash(row.consumers),
            _dash(row.pending),
            _dash(row.lag),
            _dash(row.last_delivered),
            "-" if row.idle_ms is None else f"{row.idle_ms / 1000:.1f}s",
        )
    console.print(table)
    if snapshot.dead_letters:
        letters = Table(
            "stage", "reason", "dead letters", title="dead letters", title_justify="left"
        )
        for (stage, reason), count in sorted(snapshot.dead_letters.items()):
            letters.add_row(stage, reason, str(count))
        console.print(letters)
    else:
        console.print("no dead letters")
    if snapshot.held:
        when = snapshot.next_release
        console.print(
            f"embargo: {snapshot.held} held, next release "
            f"{when.isoformat(timespec='seconds') if when else '-'}"
        )
    else:
        console.print("embargo: none held")


@app.command()
def stories(
    *,
    limit: Annotated[int, typer.Option(help="how many, newest first")] = 20,
    offset: Annotated[int, typer.Option(help="skip this many")] = 0,
    source: Annotated[str | None, typer.Option(help="only with a member from this source")] = None,
    lang: Annotated[str | None, typer.Option(help="only with a member in this language")] = None,
    min_size: Annotated[int | None, typer.Option(help="only with at least this many")] = None,
    status: Annotated[
        str,
        typer.Option(help="live (the default: what /stories lists), killed, withheld or any"),
    ] = "live",
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
) -> None:
    """List stored stories (DATABASE_URL): story, canonical title, size, sources, first seen.

    Killed and withheld stories are left out unless --status asks for them.
    """
    import dataclasses

    import orjson

    from services.store.lifecycle import STORY_STATUSES
    from services.store.models import StoryQuery

    if status not in (*STORY_STATUSES, "any"):
        err.print(f"[red]--status must be one of {', '.join(STORY_STATUSES)}, any[/]")
        raise typer.Exit(2)
    store = _store()
    query = StoryQuery(
        source=source,
        lang=lang,
        min_size=min_size,
        status=None if status == "any" else status,
        limit=limit,
        offset=offset,
    )
    found = store.stories(query)
    store.close()
    if as_json:
        for story in found:
            print(orjson.dumps(dataclasses.asdict(story)).decode())
        return
    table = Table("story", "canonical title", "size", "sources", "first seen")
    if status != "live":
        table.add_column("status")
    for story in found:
        cells = [
            story.story_id,
            story.canonical_title[:70],
            str(story.size),
            ", ".join(story.sources),
            story.first_seen[:19],
        ]
        table.add_row(*cells, *([story.status] if status != "live" else []))
    console.print(table)


@app.command()
def story(
    story_id: Annotated[str, typer.Argument(help="the story id (its first article's id)")],
    as_json: Annotated[bool, typer.Option("--json", help="one JSON document")] = False,
) -> None:
    """One stored story (also a killed one): status, members with their verdicts, scores and
    status, and its revision history."""
    import dataclasses

    import orjson

    store = _store()
    found = store.story(story_id)
    filed = store.members(story_id) if found else []
    revisions = store.revisions(story_id) if found else []
    store.close()
    if found is None:
        err.print(f"[red]no story {escape(repr(story_id))}[/]")
        raise typer.Exit(1)
    if as_json:
        document = {
            **dataclasses.asdict(found),
            "members": [dataclasses.asdict(m) for m in filed if m.status == "live"],
            "history": [dataclasses.asdict(m) for m in filed if m.status != "live"],
            "revisions": [dataclasses.asdict(r) for r in revisions],
        }
        print(orjson.dumps(document).decode())
        return
    console.print(
        f"story {found.story_id}: {found.canonical_title}\n"
        f"status {found.status}, revision {_dash(found.revision)}, "
        f"size {found.size}, sources {', '.join(found.sources)}, "
        f"seen {found.first_seen} .. {found.last_seen}"
    )
    table = Table(
        "article", "source", "title", "method", "score", "duplicate of", "status", "canonical"
    )
    for member in filed:
        table.add_row(
            member.id,
            member.source,
            member.title[:60],
            member.method,
            f"{member.score:.3f}",
            member.duplicate_of or "",
            member.status,
            "*" if member.id == found.canonical_id else "",
        )
    console.print(table)
    if revisions:
        history = Table(
            "revision",
            "event",
            "members",
            "canonical",
            "cause",
            "change",
            "at",
            title="revisions",
            title_justify="left",
        )
        for revision in revisions:
            history.add_row(
                str(revision.revision),
                revision.event,
                _dash(revision.members),
                revision.canonical_id,
                revision.cause_id,
                revision.cause_change,
                revision.at[:19],
            )
        console.print(history)


@app.command()
def article(
    article_id: Annotated[str, typer.Argument(help="the article id")],
    as_json: Annotated[bool, typer.Option("--json", help="one JSON document")] = False,
) -> None:
    """One stored article: metadata, dedupe verdict, status, its item's versions and clean
    text."""
    import dataclasses

    import orjson

    store = _store()
    found = store.article(article_id)
    text = store.article_text(article_id) if found else None
    versions = store.versions(article_id) if found else []
    store.close()
    if found is None:
        err.print(f"[red]no article {escape(repr(article_id))}[/]")
        raise typer.Exit(1)
    if as_json:
        document = {
            **dataclasses.asdict(found),
            "text": text,
            "versions": [dataclasses.asdict(v) for v in versions],
        }
        print(orjson.dumps(document).decode())
        return
    table = Table("field", "value", show_header=False)
    for key, value in dataclasses.asdict(found).items():
        table.add_row(key, _dash(value))
    console.print(table)
    listing = Table(
        "version",
        "article",
        "status",
        "current",
        "change",
        "received",
        "story",
        title="versions",
        title_justify="left",
    )
    for version in versions:
        listing.add_row(
            _dash(version.version),
            version.id,
            version.status,
            "*" if version.current else "",
            _dash(version.change),
            version.received_at[:19],
            version.story_id,
        )
    console.print(listing)
    console.print(text or "")


@app.command()
def tail(
    stream: Annotated[
        str,
        typer.Argument(help="raw, normalized, annotated, unique, stories, dlq, or a stream name"),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per entry")] = False,
    from_start: Annotated[
        bool, typer.Option("--from-start", help="begin at the first entry, not new ones only")
    ] = False,
    count: Annotated[
        int | None, typer.Option("--count", help="stop after this many entries")
    ] = None,
    partition: Annotated[
        int, typer.Option(help="with WIREDESK_PARTITIONS > 1: which partition of raw, etc.")
    ] = 0,
) -> None:
    """Follow a stream (XREAD BLOCK, no consumer group: the pipeline is not affected)."""
    import orjson

    from wiredesk.status import pipeline_keys
    from wiredesk.tail import follow, resolve_stream

    client, settings = _redis()
    name = resolve_stream(settings.streams, stream)
    keys = pipeline_keys(client, settings)
    if keys.tagged and stream in ("raw", "normalized", "annotated", "dlq"):
        name = keys.streams_of(partition)[stream]  # the partition's stream (docs/design.md)
    elif keys.tagged and stream == "stories":
        name = keys.stories  # one stream, in the dedupe log's slot
    for entry in follow(client, name, from_start=from_start, count=count):
        if as_json:
            sys.stdout.write(orjson.dumps(entry.as_json()).decode() + "\n")
        else:
            sys.stdout.write(entry.summary() + "\n")
        sys.stdout.flush()


dlq_app = typer.Typer(help="Dead letters: list them, replay them to their source stream.")
app.add_typer(dlq_app, name="dlq")


@dlq_app.command("list")
def dlq_list(
    reason: Annotated[str | None, typer.Option(help="only this reason code")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per letter")] = False,
) -> None:
    """Dead letters, oldest first: id, reason, stage, error, source stream and id."""
    import orjson

    from wiredesk.dlq import read_letters

    client, settings = _redis()
    letters = [
        letter
        for dlq in _dlq_streams(client, settings)
        for letter in read_letters(client, dlq, reason=reason)
    ]
    if as_json:
        for item in letters:
            document = (
                {"id": item.id, "problem": item.problem}
                if item.letter is None
                else {"id": item.id, **item.letter.model_dump(mode="json", by_alias=True)}
            )
            print(orjson.dumps(document).decode())
        return
    table = Table("id", "reason", "stage", "attempts", "error", "source")
    for item in letters:
        if item.letter is None:
            table.add_row(item.id, "unreadable", "-", "-", item.problem[:60], "-")
            continue
        letter = item.letter
        table.add_row(
            item.id,
            letter.reason,
            letter.stage,
            str(letter.attempts),
            letter.error[:60],
            f"{letter.source_stream} {letter.source_id}",
        )
    console.print(table)
    console.print(f"{len(letters)} dead letters")


@dlq_app.command("replay")
def dlq_replay(
    reason: Annotated[str | None, typer.Option(help="only letters with this reason")] = None,
    entry_id: Annotated[
        list[str] | None, typer.Option("--id", help="only this dead-letter entry id (repeatable)")
    ] = None,
    all_letters: Annotated[
        bool, typer.Option("--all", help="replay every letter (needed without --reason/--id)")
    ] = False,
) -> None:
    """Re-add original payloads to their source streams and delete the letters (atomic, once)."""
    from wiredesk.dlq import read_letters, refused, replay

    if reason is None and not entry_id and not all_letters:
        err.print("[red]say which letters:[/] --reason R, --id ID or --all")
        raise typer.Exit(2)
    client, settings = _redis()
    added, letters = [], []
    for dlq in _dlq_streams(client, settings):  # each partition's letters to its own source
        found = read_letters(client, dlq, reason=reason, ids=entry_id or ())
        letters += found
        added += replay(client, dlq, found)
    for letter_id, why in refused(letters):
        err.print(f"[yellow]not replayed[/] {escape(letter_id)}: {escape(why)}")
    console.print(f"replayed {len(added)} of {len(letters)} dead letters")


def main() -> None:
    from wiredesk.app.setup_errors import SETUP_ERRORS

    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except SETUP_ERRORS as exc:  # a missing install: one line that says what to install
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(2)
