"""`flowc status`, `flowc events`, `flowc pause`, `flowc resume` (SPEC §9, §10): a pipeline's state and
history from its event log, and requests to the process running it.

None of them takes the state directory's lock or writes the log: they only read it (and `pause` /
`resume` leave a request file for the running process, see `flowc.runtime.control`). Each loads the
spec only to find its state directory, which depends on `pipeline` and `settings.state_dir` alone: a
spec with errors elsewhere (an expression being edited, a `${VAR}` of the running process's
environment that this shell lacks) still shows its pipeline's state, with a note; one whose
`pipeline` or `state_dir` cannot be read exits 1.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click

from flowc.event_follow import FollowError, follow, format_event, read_all

EXIT_OK, EXIT_FAILED = 0, 1


@dataclass(frozen=True, slots=True)
class _StateDir:
    state_dir: str


@dataclass(frozen=True, slots=True)
class PipelineHome:
    """What the state commands read of a spec that has errors: its pipeline and state directory
    (shaped as a `Spec` is where they are read: `pipeline`, `file`, `settings.state_dir`)."""

    pipeline: str
    file: str
    settings: _StateDir


def load_spec(spec_path: str, assignments: tuple[str, ...] = ()) -> Any:
    """The normalised spec at `spec_path` with the `--set` overrides the run was given, or only its
    pipeline and state directory when other parts of it have errors (noted on stderr); prints the
    errors and exits 1 when those two cannot be read."""
    from flowc import set_option
    from flowc.compiler.normalize import normalize_spec
    from flowc.compiler.validate import validate_document
    from flowc.dsl.diagnostics import Diagnostic, Severity
    from flowc.dsl.loader import load_document

    overrides = set_option.parse(assignments)  # a malformed one is a usage error (exit 2)
    document, found = load_document(spec_path)
    if document is not None and isinstance(document.data, dict):
        try:  # also over a load error elsewhere (an unset ${VAR}): `--set settings.state_dir` still counts
            document = set_option.apply(document, overrides)
        except set_option.NotInSpec as problem:
            _fail(str(problem))
        if not any(d.severity is Severity.ERROR for d in found):
            found = sorted([*found, *validate_document(document)], key=Diagnostic.sort_key)
    errors = [d for d in found if d.severity is Severity.ERROR]
    if document is not None and not errors:
        spec = normalize_spec(document)[0]
        if spec is not None:
            return spec
    home = _home(document, errors)
    if home is None:
        click.echo(set_option.render_text(errors, document), err=True, nl=False)
        click.echo(f"error: {spec_path}: the spec does not load, so its state directory is unknown", err=True)
        sys.exit(EXIT_FAILED)
    count = f"{len(errors)} error{'' if len(errors) == 1 else 's'}"
    click.echo(f"note: {spec_path} has {count} ('flowc validate' shows them); its state directory is "
               "known all the same", err=True)
    return home


def _home(document: Any, errors: list[Any]) -> PipelineHome | None:
    """The pipeline and state directory of a spec with errors, when no error is in either of them."""
    import re

    from flowc.compiler.normalize_io import state_dir_of

    data = document.data if document is not None else None
    if not isinstance(data, dict):
        return None
    pipeline, settings = data.get("pipeline"), data.get("settings") or {}
    if not isinstance(pipeline, str) or not re.fullmatch(r"[a-z][a-z0-9_-]*", pipeline) or not isinstance(settings, dict):
        return None
    written = settings.get("state_dir")
    if written is not None and not (isinstance(written, str) and written):
        return None
    read = [span for span in map(document.value_spans.get, [("pipeline",), ("settings", "state_dir")]) if span]
    if any(e.span is None or any(_overlaps(e.span, span) for span in read) for e in errors):
        return None  # an unset ${VAR} in state_dir, a file-level problem: the directory is not known
    return PipelineHome(pipeline, document.file, _StateDir(state_dir_of(document.file, pipeline, written)))


def _overlaps(a: Any, b: Any) -> bool:
    return a.file == b.file and (a.line, a.col) < (b.end_line, b.end_col) and (b.line, b.col) < (a.end_line, a.end_col)


def _os_reason(error: OSError) -> str:
    """An OS error as a person reads it: `Not a directory: 'afile/st/events.log'` (no `[Errno 20]`)."""
    reason = error.strerror or str(error)
    return f"{reason}: '{error.filename}'" if error.filename else reason


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_FAILED)


def _os_errors_fail(command: Callable[..., None]) -> Callable[..., None]:
    """A state directory that cannot be read (a file where a folder should be, no permission) exits 1
    with the OS's reason, not a traceback."""

    @functools.wraps(command)
    def wrapped(*args: Any, **kwargs: Any) -> None:
        try:
            command(*args, **kwargs)
        except OSError as error:
            _fail(f"cannot read the state directory: {_os_reason(error)}")

    return wrapped


SPEC_ARGUMENT = click.argument("spec_path", metavar="SPEC", type=click.Path(exists=True, dir_okay=False))
SET_OPTION = click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE",
                          help="The --set overrides 'flowc run' was given (settings.state_dir=...), to find "
                               "the same state directory.")


@click.command()
@SPEC_ARGUMENT
@SET_OPTION
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@_os_errors_fail
def status(spec_path: str, assignments: tuple[str, ...], output_format: str) -> None:
    """Show the pipeline's state: status, last checkpoint, totals, source positions."""
    from flowc.runtime.events import EventLogCorrupt
    from flowc.runtime.lifecycle import IllegalTransition
    from flowc.state_view import pipeline_status, status_text

    spec = load_spec(spec_path, assignments)
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
@SET_OPTION
@click.option("--follow", "-f", "follow_", is_flag=True, help="Keep printing new events until interrupted (Ctrl-C).")
@click.option("--format", "output_format", type=click.Choice(["jsonl", "text"]), default="jsonl", show_default=True,
              help="jsonl: each event as stored; text: one readable line per event.")
@_os_errors_fail
def events(spec_path: str, assignments: tuple[str, ...], follow_: bool, output_format: str) -> None:
    """Print the pipeline's event log."""
    spec = load_spec(spec_path, assignments)
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
@SET_OPTION
@click.option("--wait", is_flag=True, help="Return only once the process has paused.")
@click.option("--timeout", type=click.FloatRange(min=0), default=60.0, show_default=True,
              help="With --wait: give up (exit 1) after this many seconds.")
@_os_errors_fail
def pause(spec_path: str, assignments: tuple[str, ...], wait: bool, timeout: float) -> None:
    """Ask the process running the pipeline to pause after its current batch."""
    from flowc.runtime.control import NotRunning, request_pause

    spec = load_spec(spec_path, assignments)
    try:
        pid = request_pause(spec.settings.state_dir)
    except NotRunning:
        _fail(f"no flowc process is running pipeline '{spec.pipeline}' (state dir "
              f"{os.path.abspath(spec.settings.state_dir)}); nothing to pause")
    if _status(spec) == "paused":  # the request stays (it keeps the pause): nothing more happens
        click.echo(f"pipeline '{spec.pipeline}' is already paused (process {pid}); 'flowc resume' goes on")
        return
    click.echo(f"pause requested: process {pid} pauses pipeline '{spec.pipeline}' after its current batch")
    if wait:
        _wait_for(spec, "paused", timeout)


@click.command()
@SPEC_ARGUMENT
@SET_OPTION
@click.option("--wait", is_flag=True, help="Return only once the process is running again.")
@click.option("--timeout", type=click.FloatRange(min=0), default=60.0, show_default=True,
              help="With --wait: give up (exit 1) after this many seconds.")
@_os_errors_fail
def resume(spec_path: str, assignments: tuple[str, ...], wait: bool, timeout: float) -> None:
    """Ask the paused process running the pipeline to go on."""
    from flowc.runtime.control import NotRunning, request_resume, requested_pid

    spec = load_spec(spec_path, assignments)
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
