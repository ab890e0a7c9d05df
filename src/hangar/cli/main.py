"""Entry point: ``hangar <command>``. Each command group lives in its own module."""

from __future__ import annotations

import typer

from hangar.cli.server import server

app = typer.Typer(
    name="hangar",
    help="Hangar: self-hosted AI compute platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command()(server)


@app.callback()
def main() -> None:
    """Hangar: self-hosted AI compute platform."""
