"""``hangar server``: run the API and console with Uvicorn."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def server(
    host: Annotated[str | None, typer.Option(help="Address to bind (HANGAR_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind (HANGAR_PORT).")] = None,
    home: Annotated[
        Path | None, typer.Option(help="Data directory (HANGAR_HOME, default ~/.hangar).")
    ] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Start the server: migrate the database, create the first admin if it is empty, serve the API, console and /healthz until SIGINT or SIGTERM."""  # noqa: E501 - one line for --help
    # Imported here so that every other CLI command starts without loading the server.
    from hangar.config import load_settings
    from hangar.serve import serve

    overrides = {k: v for k, v in {"host": host, "port": port, "home": home}.items() if v}
    serve(load_settings(**overrides), log_level=log_level)
