"""`flowc status`, `flowc events`, `flowc pause`, `flowc resume` (SPEC §9, §10): a pipeline's state and
history from its event log, and requests to the process running it.

None of them takes the state directory's lock or writes the log: they only read it (and `pause` /
`resume` leave a request file for the running process, see `flowc.runtime.control`). Each loads and
validates the spec first, only to find its state directory; a spec that does not load exits 1.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

import click

from flowc.event_follow import FollowError, follow, format_event, read_all

EXIT_OK, EXIT_FAILED = 0, 1


def load_spec(spec_path: str) -> Any:
    """The normalised spec at `spec_path`; prints its errors and exits 1 when it does not load."""
    from flowc import render
    from flowc.compiler.normalize import normalize_spec
    from flowc.compiler.validate import validate_path
    from flowc.dsl.diagnostics import Severity

    document, found = validate_path(spec_path)
    errors = [d for d in found if d.severity is Severity.ERROR]
    spec = normalize_spec(document)[0] if document is not None and not errors else None
    if spec is None:
        click.echo(render.render_text(errors, render.sources_of(document, errors)), err=True, nl=False)
        click.echo(f"error: {spec_path}: the spec does not load, so its state directory is unknown", err=True)
        sys.exit(EXIT_FAILED)
    return spec


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_FAILED)


SPEC_ARGUMENT = click.argument("spec_path", metavar="SPEC", type=click.Path(exists=True, dir_okay=False))


@click.command()
@SPEC_ARGUMENT
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def status(spec_path: str, output_format: str) -> None:
    """Show the pipeline's state: status, last checkpoint, totals, source positions."""
    from flowc.runtime.events import EventLogCorrupt
    from flowc.runtime.lifecycle import IllegalTransition
    from flowc.state_view import pipeline_status, status_text

    spec = load_spec(spec_path)
    try:
        view = pipeline_status(spec)
    except (EventLogCorrupt, IllegalTransition) as error:
        _fail(f"cannot read the event log of '{spec.pipeline}': {error}")
    if output_format == "json":
        click.echo(json.dumps(view, indent=2))
    else:
        click.echo(status_text(view))


@click.command()
@SPEC_ARGUMENT
@click.option("--follow", "-f", "follow_", is_flag=True, help="Keep printing new events until interrupted (Ctrl-C).")
@click.option("--format", "output_format", type=click.Choice(["jsonl", "text"]), default="jsonl", show_default=True,
              help="jsonl: each event as stored; text: one readable line per event.")
def events(spec_path: str, follow_: bool, output_format: str) -> None:
    """Print the pipeline's event log."""
    spec = load_spec(spec_path)
    path = f"{spec.settings.state_dir}/events.log"

    def emit(line: bytes, event: Any) -> None:
        click.echo(line.decode() if output_format == "jsonl" else format_event(event))

    try:
        if not follow_:
            if read_all(path, emit):
                click.echo("note: the last line of the log is torn (an interrupted write) and was ignored", err=True)
            return
        follow(path, emit, note=lambda message: click.echo(f"note: {message}", err=True))
    except FollowError as error:
        _fail(str(error))
    except KeyboardInterrupt:
        sys.exit(EXIT_OK)


@click.command()
@SPEC_ARGUMENT
@click.option("--wait", is_flag=True, help="Return only once the process has paused.")
@click.option("--timeout", type=click.FloatRange(min=0), default=60.0, show_default=True,
              help="With --wait: give up (exit 1) after this many seconds.")
def pause(spec_path: str, wait: bool, timeout: float) -> None:
    """Ask the process running the pipeline to pause after its current batch."""
    from flowc.runtime.control import NotRunning, request_pause

    spec = load_spec(spec_path)
    try:
        pid = request_pause(spec.settings.state_dir)
    except NotRunning:
        _fail(f"no flowc process is running pipeline '{spec.pipeline}' (state dir "
              f"{os.path.abspath(spec.settings.state_dir)}); nothing to pause")
    click.echo(f"pause requested: process {pid} pauses pipeline '{spec.pipeline}' after its current batch")
    if wait:
        _wait_for(spec, "paused", timeout)


@click.command()
@SPEC_ARGUMENT
@click.option("--wait", is_flag=True, help="Return only once the process is running again.")
@click.option("--timeout", type=click.FloatRange(min=0), default=60.0, show_default=True,
              help="With --wait: give up (exit 1) after this many seconds.")
def resume(spec_path: str, wait: bool, timeout: float) -> None:
    """Ask the paused process running the pipeline to go on."""
    from flowc.runtime.control import NotRunning, request_resume, requested_pid

    spec = load_spec(spec_path)
    state_dir = spec.settings.state_dir
    pending = requested_pid(state_dir) is not None
    try:
        pid = request_resume(state_dir)
    except NotRunning:
        _fail(f"no flowc process is running pipeline '{spec.pipeline}' (state dir {os.path.abspath(state_dir)}); "
              "'flowc run' resumes a stopped pipeline from its checkpoint")
    if not pending and _status(spec) != "paused":
        click.echo(f"pipeline '{spec.pipeline}' is not paused (process {pid}); nothing to do")
        return
    click.echo(f"resume requested: process {pid} goes on with pipeline '{spec.pipeline}'")
    if wait:
        _wait_for(spec, "running", timeout)


def _status(spec: Any) -> str:
    from flowc.runtime.events import read_events
    from flowc.runtime.lifecycle import fold

    return fold(read_events(f"{spec.settings.state_dir}/events.log")[0]).status.value


def _wait_for(spec: Any, wanted: str, timeout: float) -> None:
    from flowc.runtime.lock import StateLock

    deadline = time.monotonic() + timeout
    while _status(spec) != wanted:
        if StateLock(spec.settings.state_dir).holder() is None:
            _fail(f"the process running pipeline '{spec.pipeline}' ended before it was {wanted}")
        if time.monotonic() >= deadline:
            _fail(f"pipeline '{spec.pipeline}' was not {wanted} after {timeout:g} s")
        time.sleep(0.1)
    click.echo(f"pipeline '{spec.pipeline}' is {wanted}")
