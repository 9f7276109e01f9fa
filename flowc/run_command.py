"""`flowc run SPEC` (SPEC §10): compile, then run or resume the pipeline in micro-batches.

Exit status: 0 done (or already completed, or stopped by `--limit`), 1 failed (spec or run), 2 usage,
130 stopped by SIGINT/SIGTERM (the current batch is finished and checkpointed first).
"""

from __future__ import annotations

import gc
import json
import signal
import sys
from typing import Any

import click

from flowc import early_stop, set_option
from flowc.dsl.diagnostics import Severity

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_STOPPED = 0, 1, 2, 130


class _Log:
    """Progress lines on stderr: rich on a terminal, plain lines otherwise, JSON with --log-format json."""

    def __init__(self, quiet: bool, log_format: str) -> None:
        self.quiet, self.json = quiet, log_format == "json"
        self.terminal = sys.stderr.isatty()
        self.inserted: tuple[tuple[str, str], ...] = ()  # what the spec's `${...}` inserted: never shown

    def event(self, message: str, /, **data: Any) -> None:
        if self.quiet:
            return
        data = {k: self.redacted(v) if isinstance(v, str) else v for k, v in data.items()}  # the state_dir
        if self.json:
            click.echo(json.dumps({"event": message, **data}, default=str), err=True)
        else:
            extra = " ".join(f"{k}={v}" for k, v in data.items())
            click.echo(f"flowc: {message}{' ' + extra if extra else ''}", err=True)

    def redacted(self, message: str) -> str:
        """`message` without what the spec's `${...}` inserted (a path, a URL with a token in it)."""
        from flowc.dsl.redact import redact_message

        return redact_message(message, self.inserted)

    def diagnostics(self, diagnostics: list[Any], document: Any) -> None:
        """Compile errors: `flowc validate`'s text blocks, or one JSON line each with --log-format json."""
        if self.json:
            from flowc.render import render_json_lines

            click.echo(render_json_lines(diagnostics), err=True, nl=False)
        else:
            click.echo(set_option.render_text(diagnostics, document), err=True, nl=False)

    def error(self, message: str) -> None:
        message = self.redacted(message)
        if self.json:
            click.echo(json.dumps({"event": "error", "message": message}), err=True)
        else:
            click.echo(f"error: {message}", err=True)


@click.command()
@click.argument("spec_path", metavar="SPEC", type=click.Path(exists=True, dir_okay=False))
@click.option("--reset", is_flag=True, help="Forget the checkpoint and start over.")
@click.option("--limit", type=click.IntRange(min=1), help="Read at most N records per source in this run.")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE",
              help="Override a spec value (KEY a dotted path, VALUE read as YAML), e.g. --set settings.batch_size=5000.")
@click.option("--dry-run", is_flag=True, help="Compile and print the plan; run nothing.")
@click.option("--quiet", is_flag=True, help="No progress and no summary.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--no-optimize", is_flag=True, help="Run the plan as written, without the optimizer's rewrites.")
def run(spec_path: str, reset: bool, limit: int | None, assignments: tuple[str, ...], dry_run: bool,
        quiet: bool, log_format: str, no_optimize: bool) -> None:
    """Run the pipeline SPEC to the end of its input, resuming from its checkpoint."""
    log = _Log(quiet, log_format)
    # Installed first: a SIGTERM that comes while the spec compiles still ends the run cleanly (exit 130).
    requested, previous = install_stop_handlers()
    try:
        code = _compile_and_run(spec_path, reset, limit, assignments, dry_run, log, requested, not no_optimize)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    sys.exit(code)


def _compile_and_run(spec_path: str, reset: bool, limit: int | None, assignments: tuple[str, ...], dry_run: bool,
                     log: _Log, requested: list[bool], optimize: bool = True) -> int:
    from flowc.compiler.normalize import normalize_spec
    from flowc.compiler.plan import format_plan
    from flowc.compiler.validate import validate_document
    from flowc.compiler.write_paths import escaping_write_paths
    from flowc.dsl.loader import load_document

    overrides = set_option.parse(assignments)  # a malformed one is a usage error, before the spec is read
    document, found = load_document(spec_path)
    if document is not None and not any(d.severity is Severity.ERROR for d in found):
        log.inserted = document.inserted
        try:
            document = set_option.apply(document, overrides)
        except set_option.NotInSpec as problem:
            log.error(str(problem))
            return EXIT_FAILED
        found = found + validate_document(document)
    errors = [d for d in found if d.severity is Severity.ERROR]
    if document is None or errors:
        log.diagnostics(errors, document)
        return EXIT_FAILED
    warnings = [d for d in found if d.severity is Severity.WARNING]
    if warnings and not log.quiet:  # a run shows what `flowc validate` would warn of (a dangling step)
        log.diagnostics(warnings, document)
    spec, _ = normalize_spec(document)
    escaping = escaping_write_paths(spec)
    if escaping:
        for problem in escaping:
            log.error(problem)
        return EXIT_FAILED
    if dry_run:
        from flowc.runtime.run_setup import SchemaMismatch, prepare, recalled_schemas
        from flowc.runtime.sources.base import SourceUnreadable

        try:
            recalled = None if reset else recalled_schemas(spec.settings.state_dir)
            click.echo(format_plan(prepare(spec, document.text, recalled, optimize=optimize).plan), nl=False)
        except SchemaMismatch as mismatch:
            return show_mismatch(mismatch, document, log)
        except (FileNotFoundError, SourceUnreadable) as unreadable:
            log.error(str(unreadable))
            return EXIT_FAILED
        return EXIT_OK
    return _execute(spec, document, log, reset=reset, limit=limit, requested=requested, optimize=optimize)


def show_mismatch(mismatch: Any, document: Any, log: _Log | None = None) -> int:
    """The type errors found against the schemas the run inferred, shown as `flowc validate` shows errors."""
    from flowc.dsl.redact import redact

    shown = [redact(d, document.inserted) for d in mismatch.diagnostics]
    (log or _Log(False, "text")).diagnostics(shown, document)
    return EXIT_FAILED


def _execute(spec: Any, document: Any, log: _Log, *, reset: bool, limit: int | None,
             requested: list[bool], optimize: bool = True) -> int:
    from flowc.progress import open_progress
    from flowc.runtime.events import EventLog, EventLogCorrupt
    from flowc.runtime.executor import RunOptions, RunRefused, start
    from flowc.runtime.lifecycle import Status, fold
    from flowc.runtime.lock import LockHeld, StateLock
    from flowc.runtime.run_setup import SchemaMismatch, prepare
    from flowc.runtime.sinks.backends import SinkRestoreError
    from flowc.runtime.sources.base import SourceUnreadable

    state_dir = spec.settings.state_dir
    try:
        with StateLock(state_dir):
            events = EventLog.open(state_dir)
            state = fold(events.events)
            prepared = prepare(spec, document.text, None if reset else state.schema, optimize=optimize)
            if reset or state.status is not Status.COMPLETED:  # a completed pipeline does not start again
                log.event("run started", pipeline=spec.pipeline, state_dir=state_dir)
            progress = open_progress(log)
            options = RunOptions(limit=limit, reset=reset, should_stop=lambda: bool(requested), on_batch=progress,
                                 on_pause=progress.paused if progress is not None else None)
            gc.freeze()  # start-up's objects (`entry.main` ran it without the collector) are never collected
            gc.enable()
            try:
                outcome = start(prepared, events, options)
                sinks = [node.step for node in prepared.plan.sinks]
            finally:
                if progress is not None:
                    progress.close()
    except SchemaMismatch as mismatch:
        return show_mismatch(mismatch, document, log)
    except LockHeld as held:
        log.error(f"another flowc process (pid {held.pid}) is running this pipeline ({state_dir})")
        return EXIT_FAILED
    except EventLogCorrupt as corrupt:
        # not even --reset goes on: which outputs to remove is read from this log
        log.error(f"{corrupt}; flowc does not guess at a damaged history: move the state directory "
                  f"({state_dir}) aside to start over")
        return EXIT_FAILED
    except (RunRefused, SinkRestoreError, SourceUnreadable, OSError) as refused:
        # OSError: a source that fails before the run starts (a missing file, a feed's first poll for its
        # schema: an HTTP error, a refused connection, a state_dir under a file); failures inside the run
        # are recorded as `failed`. The OS's own errors are worded as a failed run's are, without [Errno]
        from flowc.runtime.failure_text import failure_reason

        log.error(failure_reason(refused) if isinstance(refused, OSError) else str(refused))
        return EXIT_FAILED
    return _report(outcome, log, sinks)


def _report(outcome: Any, log: _Log, sinks: list[str]) -> int:
    from flowc.runtime.run_summary import summary_counts, summary_rows

    if outcome.status == "already_completed":
        message = "the pipeline already completed; nothing to do (use --reset to run it again)"
        if log.json:  # an event name, as every other line has, and the sentence as its message
            log.event("already completed", message=message)
        else:
            log.event(message)
        return EXIT_OK
    if outcome.status == "failed":
        log.error(f"run failed: {outcome.reason}")
    if not log.quiet:
        if log.json:
            log.event("summary", status=outcome.status, batches=outcome.batches,
                      **summary_counts(outcome.totals, sinks))
        else:
            _print_summary(outcome, log.redacted(outcome.reason or ""), summary_rows(outcome.totals, sinks),
                           log.terminal)
    if outcome.status == "failed":
        return EXIT_FAILED
    if outcome.status == "stopped" and outcome.reason != "--limit reached":
        return EXIT_STOPPED
    return EXIT_OK


def _print_summary(outcome: Any, reason: str, rows: list[tuple[str, int]], terminal: bool) -> None:
    batches = f"{outcome.batches} batch" + ("" if outcome.batches == 1 else "es")
    title = f"run {outcome.status}" + (f" ({reason})" if reason else "") + f", {batches}"
    if not terminal:
        click.echo(f"flowc: {title}: " + ", ".join(f"{k}={v}" for k, v in rows), err=True)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    table.add_column("count")
    table.add_column("records", justify="right")
    for name, value in rows:
        table.add_row(name, f"{value:,}")
    Console(stderr=True).print(table)


def install_stop_handlers() -> tuple[list[bool], dict[int, Any]]:
    """SIGINT and SIGTERM ask the run to stop after its current batch. Returns the flag list and the
    handlers they replace (restored when the run ends)."""
    requested, previous = early_stop.handed_over()  # a stop asked for during start-up counts

    def handler(signum: int, frame: object) -> None:
        requested.append(True)

    previous = previous or {s: signal.getsignal(s) for s in early_stop.STOPS}
    for signum in previous:
        signal.signal(signum, handler)
    # Importing Polars installs its own native SIGINT handler, which makes a query running at that
    # moment raise KeyboardInterrupt: a Ctrl-C then aborted the batch (click's "Aborted!", exit 1, no
    # `stopped` event) instead of finishing it. Import it now and put ours back on top.
    import polars  # noqa: F401

    signal.signal(signal.SIGINT, handler)
    return requested, previous
