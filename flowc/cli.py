"""The `flowc` command (SPEC §10)."""

from __future__ import annotations

import dataclasses
import glob
import importlib
import json
import sys
from pathlib import Path

import click

from flowc import render
from flowc.dsl.diagnostics import Diagnostic, Severity

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2
SPEC_GLOB = "*.flow.yaml"

# Commands in their own modules, imported only when named: `flowc validate` on a pull request should
# not pay for importing the runner (start-up time is most of a small validate).
_LAZY_COMMANDS = {
    "run": "flowc.run_command:run",
    "plan": "flowc.plan_command:plan",
    "test": "flowc.test_command:test",
    "status": "flowc.state_commands:status",
    "events": "flowc.state_commands:events",
    "pause": "flowc.state_commands:pause",
    "resume": "flowc.state_commands:resume",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *_LAZY_COMMANDS])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = _LAZY_COMMANDS.get(name)
        if target is None:
            return super().get_command(ctx, name)
        module, attribute = target.split(":")
        return getattr(importlib.import_module(module), attribute)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="flowc", prog_name="flowc")
def cli() -> None:
    """Compile declarative .flow.yaml pipelines into checkpointed Polars pipelines."""


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "output_format", type=click.Choice(["text", "json", "github"]), default="text",
              show_default=True, help="How to print diagnostics.")
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@click.option("--with-data", is_flag=True,
              help="Sample local data files to infer the schemas of sources that declare none.")
def validate(paths: tuple[Path, ...], output_format: str, strict: bool, with_data: bool) -> None:
    """Check spec files (or folders of **/*.flow.yaml) and report every problem."""
    from flowc.compiler.validate import validate_path

    if with_data:  # sample as `flowc run` infers, so that validate and run agree on the fields' types
        from flowc.compiler.checks.data_sample import RUN_SAMPLER
        from flowc.runtime.sources.files import sampled_schema

        RUN_SAMPLER[:] = [sampled_schema]
    files = _spec_files(paths)
    diagnostics: list[Diagnostic] = []
    sources: dict[str, str] = {}
    for file in files:
        document, found = validate_path(file, with_data=with_data)
        sources.update(render.sources_of(document, found))
        diagnostics.extend(_strictly(d) if strict else d for d in found)
    _print_diagnostics(diagnostics, sources, output_format, len(files))
    if any(d.severity is Severity.ERROR for d in diagnostics):
        sys.exit(EXIT_PROBLEMS)


def _spec_files(paths: tuple[Path, ...]) -> list[str]:
    """The spec files PATHS name: files, folders (their `**/*.flow.yaml`), and glob patterns that the
    shell left unexpanded (`'specs/**/*.flow.yaml'`, as CI configurations quote them). Each file once."""
    files: list[str] = []
    for path in paths:
        if path.is_dir():
            found = sorted(str(p) for p in path.rglob(SPEC_GLOB) if p.is_file())
            if not found:
                raise click.UsageError(f"no {SPEC_GLOB} files under '{path}'")
            files.extend(found)
        elif path.exists():
            files.append(str(path))
        elif glob.has_magic(str(path)):
            found = sorted(p for p in glob.glob(str(path), recursive=True) if Path(p).is_file())
            if not found:
                raise click.UsageError(f"no file matches '{path}'")
            files.extend(found)
        else:
            raise click.UsageError(f"'{path}' does not exist")
    return list(dict.fromkeys(files))


def _strictly(d: Diagnostic) -> Diagnostic:
    return dataclasses.replace(d, severity=Severity.ERROR) if d.severity is Severity.WARNING else d


def _print_diagnostics(diagnostics: list[Diagnostic], sources: dict[str, str], output_format: str,
                       file_count: int) -> None:
    if output_format == "json":
        click.echo(render.render_json(diagnostics), nl=False)
    elif output_format == "github":
        click.echo(render.render_github(diagnostics), nl=False)
    else:
        click.echo(render.render_text(diagnostics, sources), nl=False)
        click.echo(_summary(diagnostics, file_count))


def _summary(diagnostics: list[Diagnostic], file_count: int) -> str:
    counts = {s: sum(d.severity is s for d in diagnostics) for s in Severity}
    files = f"{file_count} file{'s' if file_count != 1 else ''}"
    if not counts[Severity.ERROR] and not counts[Severity.WARNING]:
        return f"{files} checked: no problems"
    parts = [_plural(counts[Severity.ERROR], "error"), _plural(counts[Severity.WARNING], "warning")]
    return f"{files} checked: {', '.join(p for p in parts if p)}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}" if n else ""


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the .flow.yaml language (for editors and CI), `${VAR}` references included."""
    from flowc.schemas import editor_schema

    click.echo(json.dumps(editor_schema(), indent=2))



def main() -> None:
    cli(prog_name="flowc")
