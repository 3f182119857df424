"""``willow``: everyday Willow jobs from a shell, on top of willow_ext.

Credentials come from WILLOW_INSTANCE or WILLOW_BASE_URL, WILLOW_CLIENT_ID and WILLOW_CLIENT_SECRET.
Tables for people, ``--json`` for scripts. Exit codes scripts can trust:

  0 ok · 1 API error · 2 usage error or bad input file · 3 authentication or configuration · 4 not found
  5 partial failure (some points not ingested) · 6 connection or timeout · 7 an optional extra is missing
  8 a local file cannot be written · 70 internal error · 130 interrupted

Errors are one line on stderr, never a traceback. Server and user text is printed literally.

Global options (--json, --verbose) work before or after the subcommand. --verbose, or WILLOW_LOG=debug,
logs each HTTP attempt to stderr; credentials are redacted from every log line.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.highlighter import JSONHighlighter
from rich.table import Table
from rich.text import Text
from typer.exceptions import TyperException

from willow_ext import (
    APIConnectionError,
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    WillowClient,
    WillowError,
    export_time_series,
    ingest,
    where,
)
from willow_ext._cli_input import count_points, read_points
from willow_ext._cli_output import error_line, finite, json_text, literal, literal_text, publish, staging_path
from willow_ext._errors import AuthenticationStatusError
from willow_ext._exit_codes import (
    EXIT_API,
    EXIT_AUTH,
    EXIT_CONNECTION,
    EXIT_FILE,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_MISSING_EXTRA,
    EXIT_NOT_FOUND,
    EXIT_PARTIAL,
    EXIT_USAGE,
)
from willow_ext._log_redaction import RedactingFilter
from willow_ext._redact import register_secret
from willow_ext._version import installed_version

__all__ = ["app", "exit_code_for", "hoist_global_flags", "main"]

log = logging.getLogger(__name__)


def exit_code_for(error: BaseException) -> int:
    """The documented exit code for a failure (pure; see the module docstring)."""
    if isinstance(error, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(error, AuthenticationError | AuthenticationStatusError):
        return EXIT_AUTH
    if isinstance(error, NotFoundError):
        return EXIT_NOT_FOUND
    if isinstance(error, APIConnectionError):
        return EXIT_CONNECTION
    if isinstance(error, InvalidRequestError):  # a bad argument or input file (InputFileError)
        return EXIT_USAGE
    if isinstance(error, WillowError):
        return EXIT_API
    if isinstance(error, OSError):
        return EXIT_FILE
    return EXIT_INTERNAL


def _describe(error: BaseException) -> str:
    if isinstance(error, WillowError):
        return str(error)  # already safe: redacted, bounded, control characters escaped
    if isinstance(error, OSError) and error.strerror:
        return f"{error.strerror}: {error.filename}" if error.filename else error.strerror
    return f"internal error ({type(error).__name__}: {error}); run with --verbose for the traceback"


class _GuardedGroup(typer.core.TyperGroup):
    """The root command: any failure in any subcommand becomes one line on stderr and a documented
    exit code, never a traceback (Click's own usage errors and exits pass through unchanged)."""

    def invoke(self, ctx: Any) -> Any:  # typer's vendored click.Context (private module)
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, TyperException):  # exits, usage errors: typer shows them
            raise
        except BrokenPipeError:
            raise  # typer's main quiets a closed stdout (``willow ... | head``)
        except KeyboardInterrupt:
            _fail(EXIT_INTERRUPTED, "interrupted")
        except Exception as error:
            log.debug("willow failed", exc_info=True)  # shown with --verbose, through the redacting handler
            _fail(exit_code_for(error), _describe(error))


app = typer.Typer(
    cls=_GuardedGroup, help=__doc__, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False
)
twins_app = typer.Typer(help="Twins: get, search, graph.", no_args_is_help=True)
series_app = typer.Typer(help="Time series: latest, export, ingest.", no_args_is_help=True)
insights_app = typer.Typer(help="Insights.", no_args_is_help=True)
tickets_app = typer.Typer(help="Tickets: list, create.", no_args_is_help=True)
auth_app = typer.Typer(help="Authentication.", no_args_is_help=True)
spec_app = typer.Typer(help="The OpenAPI spec.", no_args_is_help=True)
for sub, name in (
    (twins_app, "twins"),
    (series_app, "timeseries"),
    (insights_app, "insights"),
    (tickets_app, "tickets"),
    (auth_app, "auth"),
    (spec_app, "spec"),
):
    app.add_typer(sub, name=name)

out = Console()
err = Console(stderr=True)
_state: dict[str, Any] = {"json": False}

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
VerboseOption = Annotated[
    bool, typer.Option("--verbose", "-v", help="Log each HTTP attempt to stderr (same as WILLOW_LOG=debug).")
]
GLOBAL_FLAGS = ("--json", "--verbose", "-v")
LOGGED_LIBRARIES = ("willow_ext", "httpx", "httpcore")
TESTING_EXTRA = "pip install 'willow-api[testing]'"


def _print_version(value: bool) -> None:
    if value:
        out.print(f"willow {installed_version()}", highlight=False)
        raise typer.Exit()


VersionOption = Annotated[
    bool, typer.Option("--version", is_eager=True, callback=_print_version, help="Print the version and exit.")
]


@app.callback()
def _root(json_output: JsonOption = False, verbose: VerboseOption = False, version: VersionOption = False) -> None:
    _state["json"] = json_output
    # Masked in everything the CLI prints, in every encoding a server may reflect it in.
    register_secret(os.environ.get("WILLOW_CLIENT_SECRET", ""))
    level = "debug" if verbose else os.environ.get("WILLOW_LOG", "").strip().lower()
    if level:
        _configure_logging(level)


def _configure_logging(level_name: str) -> None:
    """Log willow_ext, httpx and httpcore to stderr at ``level_name``, through the credential filter."""
    level = logging.getLevelNamesMapping().get(level_name.upper())
    if level is None:
        _fail(EXIT_USAGE, f"WILLOW_LOG must be debug, info, warning or error, got {level_name!r}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_LiteralFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter([os.environ.get("WILLOW_CLIENT_SECRET", "")]))
    for name in LOGGED_LIBRARIES:
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.addHandler(handler)


class _LiteralFormatter(logging.Formatter):
    """Log lines quote server text (reason phrases, headers): no raw escape sequence reaches the terminal."""

    def format(self, record: logging.LogRecord) -> str:
        return literal(super().format(record), multiline=True)


def hoist_global_flags(args: list[str]) -> list[str]:
    """Move --json/--verbose given after a subcommand to the front, where the root command reads them.

    Click parses a group's options only before the subcommand; scripts write ``willow twins get X --json``.
    Arguments after ``--`` are left alone.
    """
    end = args.index("--") if "--" in args else len(args)
    flags = [arg for arg in args[:end] if arg in GLOBAL_FLAGS]
    rest = [arg for arg in args[:end] if arg not in GLOBAL_FLAGS]
    return flags + rest + args[end:]


def _needs_testing_extra(command: str, exc: ImportError) -> NoReturn:
    _fail(EXIT_MISSING_EXTRA, f"willow {command} needs the 'testing' extra ({exc.name} is missing): {TESTING_EXTRA}")


def _fail(code: int, message: object) -> NoReturn:
    """One line on stderr (literal text: messages hold brackets, server text, user input) and exit."""
    err.print(Text.assemble(("error:", "red"), " ", error_line(message)), soft_wrap=True)
    raise typer.Exit(code)


def _say(text: object, *, stderr: bool = False) -> None:
    """Plain text from us, the server or the user, printed literally (never markup, no raw escapes)."""
    (err if stderr else out).print(literal_text(text), soft_wrap=True)


@contextmanager
def _client() -> Iterator[WillowClient]:
    """A client from the WILLOW_* settings (bad settings: exit 3); failures are mapped by ``_GuardedGroup``."""
    try:
        client = WillowClient.from_env()
    except InvalidRequestError as exc:
        _fail(EXIT_AUTH, exc)
    with client:
        yield client


def _plain(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def _emit(data: Any, columns: list[str] | None = None, title: str | None = None) -> None:
    """JSON with --json; otherwise a table of ``columns`` (rows are dicts) or pretty JSON."""
    plain = _plain(data)
    if columns and isinstance(plain, list) and not _state["json"]:
        table = Table(*columns, title=title)
        for row in plain:
            table.add_row(*(literal_text(_cell(row, column)) for column in columns))
        out.print(table)
    else:
        _print_json(plain)


def _print_json(data: Any) -> None:
    """Always valid JSON, never wrapped; coloured only on a terminal."""
    text = json_text(data)
    if out.is_terminal:
        out.print(JSONHighlighter()(Text(text)), soft_wrap=True)
    else:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def _cell(row: dict[str, Any], column: str) -> str:
    value: Any = row
    for part in column.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return "" if value is None else str(value)


def _instant(text: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"not an ISO 8601 timestamp: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _filters(pairs: list[str]) -> list[Any]:
    specs = []
    for pair in pairs:
        field, sep, value = pair.partition("=")
        if not sep or not field:
            raise typer.BadParameter(f"filters look like field=value, got {pair!r}")
        specs.append(where(field).equals(value))
    return specs


# ------------------------------------------------------------------------------ auth


@auth_app.command("check")
def auth_check() -> None:
    """Get a token with the configured credentials and make one cheap call."""
    with _client() as client:
        started = time.monotonic()
        models = client.models.list()
        elapsed = time.monotonic() - started
        _emit({"ok": True, "base_url": client.base_url, "models": len(models), "seconds": round(elapsed, 3)})


# ------------------------------------------------------------------------------ twins


@twins_app.command("get")
def twins_get(
    twin_id: str, relationships: Annotated[bool, typer.Option(help="Include relationships.")] = False
) -> None:
    """One twin by id."""
    with _client() as client:
        _emit(client.twins.get(twin_id, include_relationships=relationships))


@twins_app.command("search")
def twins_search(
    model: Annotated[list[str] | None, typer.Option(help="Model id (DTMI); repeatable.")] = None,
    exact: Annotated[bool, typer.Option(help="Exact model match (no subclasses).")] = False,
    location: Annotated[str | None, typer.Option(help="Location twin id.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many twins.")] = 100,
) -> None:
    """Twins matching a model and location filter."""
    query: dict[str, Any] = {}
    if model:
        query["modelFilter"] = {"modelIds": model, "exactModelMatch": exact}
    if location:
        query["locationFilter"] = {"locationId": location}
    with _client() as client:
        twins = list(client.twins.iter(query, page_size=min(limit, 1000), max_items=limit))
        rows = [
            {"id": t.id, "modelId": t.model_id, "name": t.contents.to_dict().get("name") if t.contents else None}
            for t in twins
        ]
        _emit(rows if not _state["json"] else twins, ["id", "modelId", "name"], title=f"{len(rows)} twins")


@twins_app.command("graph")
def twins_graph(
    twin_id: str,
    incoming: Annotated[list[str] | None, typer.Option(help="Incoming relationship name; repeatable.")] = None,
    outgoing: Annotated[list[str] | None, typer.Option(help="Outgoing relationship name; repeatable.")] = None,
) -> None:
    """A twin with the twins one hop away over the named relationships."""
    hops = [{"alias": f"in:{name}", "direction": "Incoming", "relationshipNames": [name]} for name in incoming or []]
    hops += [{"alias": f"out:{name}", "direction": "Outgoing", "relationshipNames": [name]} for name in outgoing or []]
    with _client() as client:
        graph = client.twins.graph({"alias": "Twin", "id": twin_id, "relationships": hops})
        if _state["json"]:
            _emit(graph)
            return
        rows = [
            {"collection": alias, "id": twin["id"], "modelId": twin["modelId"]}
            for alias, members in graph.items()
            for twin in members
        ]
        _emit(rows, ["collection", "id", "modelId"])


# ------------------------------------------------------------------------------ time series


@series_app.command("latest")
def series_latest(twin_ids: Annotated[list[str], typer.Argument(help="Capability twin ids.")]) -> None:
    """The latest value of each twin (Willow looks back one hour)."""
    with _client() as client:
        points = client.time_series.latest_many(twin_ids)
        _emit(points, ["twinId", "sourceTimestamp", "scalarValue"])


@series_app.command("export")
def series_export(
    twin_ids: Annotated[list[str], typer.Argument(help="Capability twin ids.")],
    start: Annotated[str, typer.Option(help="ISO 8601 start (UTC if no offset).")],
    end: Annotated[str, typer.Option(help="ISO 8601 end.")],
    output_format: Annotated[
        str | None, typer.Option("--format", help="csv, jsonl or parquet (default: from --output's suffix, else csv).")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(help="File (.csv/.jsonl/.parquet) or partition directory; default stdout."),
    ] = None,
    partition: Annotated[
        bool | None, typer.Option(help="Partition by twin and day (default: when --output has no suffix).")
    ] = None,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted export from its checkpoint.")] = False,
    checkpoint: Annotated[Path | None, typer.Option(help="Default: <output>.checkpoint.json.")] = None,
    dry_run: Annotated[bool, typer.Option(help="Print the plan and estimate; send nothing.")] = False,
    points_per_day: Annotated[
        float, typer.Option(min=0, help="Expected points per twin per day, for the estimate (1440: 1-minute data).")
    ] = 1440.0,
    page_size: Annotated[int, typer.Option(min=1, help="Points per request (largest safe default).")] = 1000,
    progress: Annotated[bool | None, typer.Option(help="Progress on stderr (default: when a terminal).")] = None,
) -> None:
    """Every point of the twins in [start, end] as CSV, JSON lines or Parquet; resumable with --output."""
    from willow_ext import plan_export
    from willow_ext._outputs import FORMATS

    if output_format is not None and output_format not in FORMATS:
        raise typer.BadParameter("--format must be csv, jsonl or parquet")
    first, last = _instant(start), _instant(end)
    plan = plan_export(twin_ids, first, last, page_size=page_size, points_per_day=points_per_day)
    if dry_run:
        estimate = {
            "twins": len(plan.twin_ids),
            "units": len(plan.units),
            "page_size": plan.page_size,
            "estimated_points": plan.estimated_points,
            "estimated_requests": plan.estimated_requests,
            "requests_without_grouping": plan.requests_one_twin_per_request,
            "seconds_at_rate_limit": plan.seconds_at_ceiling,
        }
        if _state["json"]:
            _print_json(estimate)
        else:
            _say(plan.describe())
        return
    if output is None:
        if output_format == "parquet":
            raise typer.BadParameter("parquet needs --output")
        if resume:
            raise typer.BadParameter("--resume needs --output")
        _export_to_stdout(plan.twin_ids, first, last, output_format or "csv", page_size, progress)
        return
    show = sys.stderr.isatty() if progress is None else progress
    _export_files(plan, first, last, output, output_format, partition, resume, checkpoint, show)


def _export_files(
    plan: Any,
    first: dt.datetime,
    last: dt.datetime,
    output: Path,
    output_format: str | None,
    partition: bool | None,
    resume: bool,
    checkpoint: Path | None,
    show: bool,
) -> None:
    """Export to ``output``; a single file is assembled beside it and renamed over it only when the
    export is complete, so a failed or interrupted export never truncates or half-writes it."""
    from willow_ext import export_to_files
    from willow_ext._outputs import format_for
    from willow_ext._progress import TerminalProgress

    fmt = format_for(output, output_format)
    partitioned = partition if partition is not None else output.suffix == ""
    # Partitions are written one atomic file at a time by the export itself.
    target = output if partitioned else staging_path(output)
    checkpoint = checkpoint or output.with_name(output.name + ".checkpoint.json")
    # A resumed export that had already finished has nothing left to assemble: keep its output.
    work = target.with_name(target.name + ".parts")
    nothing_to_assemble = resume and not target.exists() and not work.exists() and output.exists()
    bar = TerminalProgress("export", "points", plan.estimated_points, stream=sys.stderr, enabled=show)
    try:
        with _client() as client, bar:
            report = export_to_files(
                client,
                plan.twin_ids,
                first,
                last,
                target,
                format=fmt,
                partition=partitioned,
                resume=resume,
                checkpoint=checkpoint,
                page_size=plan.page_size,
                points_per_day=plan.points_per_day,
                progress=bar.total_callback(),
            )
    except KeyboardInterrupt:
        _fail(EXIT_INTERRUPTED, "interrupted; run again with --resume to continue")
    _say(f"exported {report.points} points ({report})", stderr=True)
    for failure in report.failures:
        _say(
            f"failed: {', '.join(failure.twin_ids)[:200]} {failure.start}..{failure.end}: {failure.reason}", stderr=True
        )
    if not partitioned:
        if report.ok and not (nothing_to_assemble and report.units_done == report.units_skipped):
            publish(target, output)
        else:
            target.unlink(missing_ok=True)  # the parts stay in the work directory for --resume
    if report.ok:
        return
    if not partitioned:
        _say(f"{output} left as it was; run again with --resume to fetch the rest", stderr=True)
    if report.failures and report.units_done == 0:
        # Nothing at all was exported: the same exit code as a single failed request.
        raise typer.Exit(exit_code_for(report.failures[0].error))
    raise typer.Exit(EXIT_PARTIAL)


def _export_to_stdout(
    twin_ids: tuple[str, ...], start: dt.datetime, end: dt.datetime, fmt: str, page_size: int, progress: bool | None
) -> None:
    """Stream points in the server's order (no checkpoint: use --output for a resumable export)."""
    from willow_ext._progress import TerminalProgress

    show = sys.stderr.isatty() if progress is None else progress
    # Data is written as the server sent it, except on a terminal, where escape sequences are shown, not run.
    shown = literal if sys.stdout.isatty() else str
    count = 0
    with _client() as client, TerminalProgress("export", "points", stream=sys.stderr, enabled=show) as bar:
        writer = csv.writer(sys.stdout) if fmt == "csv" else None
        if writer:
            writer.writerow(["twinId", "externalId", "sourceTimestamp", "scalarValue"])
        for point in export_time_series(client, twin_ids, start, end, page_size=page_size, progress=bar.update):
            row = point.to_dict()
            if writer:
                cells = [row.get("twinId"), row.get("externalId"), row.get("sourceTimestamp"), row.get("scalarValue")]
                writer.writerow(["" if cell is None else shown(cell) for cell in cells])
            else:
                # ASCII-only JSON (every control character escaped); NaN/Infinity as strings: valid JSON.
                sys.stdout.write(json.dumps(finite(row), default=str) + "\n")
            count += 1
    _say(f"exported {count} points", stderr=True)


@series_app.command("ingest")
def series_ingest(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or JSON-lines file of points.")],
    connector_id: Annotated[str | None, typer.Option(help="connectorId for points that have none.")] = None,
    batch_size: Annotated[int, typer.Option(min=1)] = 1000,
    concurrency: Annotated[int, typer.Option(min=1)] = 4,
    progress: Annotated[bool | None, typer.Option(help="Progress on stderr (default: when a terminal).")] = None,
) -> None:
    """Send every point of FILE with POST /time-series; exit 5 if any point was not accepted."""
    from willow_ext import IngestReport
    from willow_ext._progress import TerminalProgress

    show = sys.stderr.isatty() if progress is None else progress
    # A regular file is checked whole before anything is sent, so a bad line sends nothing; a pipe
    # can be read only once, so its lines are checked as they are sent.
    total = count_points(file) if file.is_file() else None

    def points() -> Iterator[dict[str, Any]]:
        for point in read_points(file):
            if connector_id and "connectorId" not in point:
                point["connectorId"] = connector_id
            yield point

    def summary(report: IngestReport) -> dict[str, Any]:
        return {
            "sent": report.sent,
            "failed": report.failed,
            "not_sent": report.unsent,
            "requests": report.requests,
            "failures": [
                {"reason": f.reason, "first_index": f.first_index, "points": len(f.points)}
                for f in report.failures + report.not_sent
            ],
        }

    bar = TerminalProgress("ingest", "points", total, stream=sys.stderr, enabled=show)
    try:
        with _client() as client, bar:
            report = ingest(
                client, points(), batch_size=batch_size, concurrency=concurrency, progress=bar.ingest_callback()
            )
    except (KeyboardInterrupt, WillowError) as exc:
        # What was sent before the job stopped, then the one error line (from _GuardedGroup).
        partial = getattr(exc, "partial", None)
        if isinstance(partial, IngestReport):
            _emit(summary(partial))
        raise
    _emit(summary(report))
    if not report.ok:
        raise typer.Exit(EXIT_PARTIAL)


# ------------------------------------------------------------------------------ insights, tickets


@insights_app.command("tree")
def insights_tree(
    filter_: Annotated[list[str] | None, typer.Option("--filter", help="field=value; repeatable.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many root insights.")] = 50,
) -> None:
    """Root insights with their children."""
    with _client() as client:
        trees = []
        for tree in client.insights.iter_trees(filters=_filters(filter_ or [])):
            trees.append(tree)
            if len(trees) >= limit:
                break
        if _state["json"]:
            _emit([{"parent_id": t.parent_id, "root": _plain(t.root), "children": _plain(t.children)} for t in trees])
            return
        from rich.tree import Tree

        view = Tree(f"{len(trees)} insight trees")
        for tree in trees:
            root = tree.root
            label = f"{root.name} ({root.type_})" if root is not None else f"(orphans of {tree.parent_id})"
            node = view.add(literal_text(label))
            for child in tree.children:
                node.add(literal_text(child.name))
        out.print(view)


@tickets_app.command("list")
def tickets_list(
    filter_: Annotated[list[str] | None, typer.Option("--filter", help="field=value; repeatable.")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 100,
) -> None:
    """Tickets (newest pages first as the server orders them)."""
    with _client() as client:
        tickets = list(client.tickets.iter(filters=_filters(filter_ or []), max_items=limit))
        _emit(tickets, ["id", "summary", "ticketStatus.name", "ticketPriority.name"], title=f"{len(tickets)} tickets")


@tickets_app.command("create")
def tickets_create(
    summary: Annotated[str, typer.Option(help="Ticket summary.")],
    description: Annotated[str | None, typer.Option()] = None,
    twin: Annotated[str | None, typer.Option(help="Twin id the ticket is about.")] = None,
) -> None:
    """Create a ticket."""
    body: dict[str, Any] = {"summary": summary}
    if description:
        body["description"] = description
    if twin:
        body["twinId"] = twin
    with _client() as client:
        _emit(client.tickets.create(body))


# ------------------------------------------------------------------------------ tools


@app.command("serve-local")
def serve_local(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: any free port).")] = 8321,
    error_rate: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of requests given a fault.")] = 0.0,
    seed: Annotated[bool, typer.Option(help="Start with the demo building.")] = True,
    rate_limit: Annotated[bool, typer.Option(help="Enforce 20 requests / 10 s on /twins and /time-series.")] = False,
) -> None:
    """Run the local Willow server until interrupted; prints the WILLOW_* settings to use."""
    try:
        from willow_ext.testing import FaultConfig, LocalWillow
    except ImportError as exc:
        _needs_testing_extra("serve-local", exc)

    willow = LocalWillow(seed=seed, port=port, faults=FaultConfig(error_rate=error_rate, rate_limit=rate_limit))
    with willow:
        settings = {
            "WILLOW_BASE_URL": willow.base_url,
            "WILLOW_CLIENT_ID": willow.client_id,
            "WILLOW_CLIENT_SECRET": willow.client_secret,
        }
        # The local server's own made-up credentials: printing them is the point of this command.
        if _state["json"]:
            _print_json(settings)
        else:
            for key, value in settings.items():
                out.print(f"export {key}={value}", highlight=False, markup=False, soft_wrap=True)
        sys.stdout.flush()
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


@spec_app.command("diff")
def spec_diff(
    url: str,
    against: Annotated[Path | None, typer.Option(help="Old spec (default: the pinned one).")] = None,
) -> None:
    """What changed between the pinned spec (or --against) and the one at URL; exit 1 if breaking."""
    import httpx
    import yaml

    from willow_ext._spec_diff import diff_specs, format_changes
    from willow_ext.testing._spec_file import spec_path

    try:
        old = yaml.safe_load((against or spec_path()).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError) as exc:
        _fail(EXIT_USAGE, f"cannot read {against}: {exc}")
    try:
        response = httpx.get(url, timeout=30, follow_redirects=True)
        response.raise_for_status()
        new = yaml.safe_load(response.text)
    except (httpx.HTTPError, yaml.YAMLError, RecursionError) as exc:
        _fail(EXIT_CONNECTION, f"cannot read {url}: {exc}")
    if not isinstance(new, dict) or "openapi" not in new:
        _fail(EXIT_API, f"{url} is not an OpenAPI document")
    changes = diff_specs(old, new)
    if _state["json"]:
        _emit(
            [
                {"kind": c.kind, "where": c.where, "what": c.what, "breaking": c.breaking, "side": c.side}
                for c in changes
            ]
        )
    else:
        _say(format_changes(changes))
    if any(change.breaking for change in changes):
        raise typer.Exit(EXIT_API)


@app.command("demo")
def demo() -> None:
    """The guided demo against the embedded local server."""
    try:
        from willow_ext.demo import run
    except ImportError as exc:
        _needs_testing_extra("demo", exc)

    raise typer.Exit(run(out))


# ------------------------------------------------------------------------------ doctor (issue 12)


@app.command("doctor")
def doctor(
    report: Annotated[Path, typer.Option(help="Markdown report to write.")] = Path("willow-doctor.md"),
    patch: Annotated[Path, typer.Option(help="Proposed overrides to write.")] = Path("willow-doctor-overrides.yaml"),
) -> None:
    """Check the tenant against the pinned spec with safe reads only (never writes); exit 1 if it differs."""
    from willow_ext._probe import doctor as run_doctor

    code = run_doctor(report, patch, json_output=_state["json"], echo=_say)
    raise typer.Exit(code)


def main() -> None:
    # A terminal or pipe that cannot encode a character (a twin name in an ASCII locale) shows an
    # escape instead of raising UnicodeEncodeError.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    app(args=hoist_global_flags(sys.argv[1:]), prog_name="willow")


if __name__ == "__main__":
    main()
