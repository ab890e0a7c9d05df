"""Console routes. (Being built: pages for login, workspaces, members, users, tokens, audit.)"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from hangar.errors import HangarError


def render_error(request: Request, err: HangarError) -> Response | None:
    """Console pages: an expired login goes back to the login page."""
    if err.http_status == 401:
        return RedirectResponse("/login", status_code=303)
    return None


def mount(app: FastAPI) -> None:
    """Attach the console's pages and static files to ``app``."""
