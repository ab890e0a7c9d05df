"""How errors look in the console.

- htmx requests get a fragment, retargeted into the error box of the form that sent them
  (``<form id="x-form">`` has ``<div id="x-form-errors">``), else into the page's flash area;
- a missing or ended login sends pages to ``/login?next=…`` (htmx: via ``HX-Redirect``);
- everything else gets a full error page (403, 404, …) with the message.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from hangar.errors import HangarError
from hangar.web.templating import is_htmx, render

NOT_CONSOLE = ("/api/", "/static/", "/healthz", "/openapi.json")
FORM_ID = re.compile(r"[a-z0-9][a-z0-9-]*-form")
FLASH = "#flash"


def is_console_path(path: str) -> bool:
    return not path.startswith(NOT_CONSOLE)


def login_url(next_path: str) -> str:
    return "/login" if next_path in ("", "/") else f"/login?next={quote(next_path, safe='/')}"


def safe_next(value: str) -> str:
    """Only same-site paths may follow a login, so the form cannot redirect anywhere else."""
    if value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def extra_fields(err: HangarError) -> dict[str, str]:
    """Per-field messages that the main message does not already spell out."""
    return {k: v for k, v in err.fields.items() if f"{k}: {v}" not in err.message}


def render_console_error(request: Request, err: HangarError) -> Response | None:
    if not is_console_path(request.url.path):
        return None
    if is_htmx(request):
        return _fragment(request, err)
    if err.http_status == 401 and request.method in ("GET", "HEAD"):
        url = request.url
        return RedirectResponse(
            login_url(url.path + (f"?{url.query}" if url.query else "")), status_code=303
        )
    if request.url.path == "/login":
        return render(
            request,
            "login.html",
            {
                "error": err,
                "fields": extra_fields(err),
                "next": safe_next(request.query_params.get("next", "/")),
                "username": getattr(request.state, "login_username", ""),
            },
            status=err.http_status,
        )
    return render(
        request,
        "error.html",
        {"error": err, "fields": extra_fields(err), "status": err.http_status},
        status=err.http_status,
    )


def _fragment(request: Request, err: HangarError) -> Response:
    if err.http_status == 401:
        page = urlsplit(request.headers.get("hx-current-url", ""))
        next_path = page.path + (f"?{page.query}" if page.query else "")
        return Response(status_code=401, headers={"HX-Redirect": login_url(next_path)})
    trigger = request.headers.get("hx-trigger", "")
    target = f"#{trigger}-errors" if FORM_ID.fullmatch(trigger) else FLASH
    return render(
        request,
        "partials/error.html",
        {"error": err, "fields": extra_fields(err), "oob_flash": target != FLASH},
        status=err.http_status,
        headers={"HX-Retarget": target, "HX-Reswap": "innerHTML"},
    )
