"""The Jinja2 environment and the one helper every console route answers with."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from hangar.web.assets import HTMX_URL, htmx_vendored

TEMPLATES_DIR = Path(__file__).parent / "templates"

# What the strict CSP needs from htmx: no injected indicator <style>, no eval, no inline
# scripts from swapped content. 4xx answers are swapped so error fragments show up; 5xx are not.
HTMX_CONFIG: dict[str, Any] = {
    "includeIndicatorStyles": False,
    "allowEval": False,
    "allowScriptTags": False,
    "historyCacheSize": 0,
    "responseHandling": [
        {"code": "204", "swap": False},
        {"code": "[23]..", "swap": True},
        {"code": "4..", "swap": True, "error": False},
        {"code": "...", "swap": False, "error": True},
    ],
}


def when(value: datetime | None) -> str:
    """A timestamp as users read it: minutes, always UTC, a dash when there is none."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "—"


_env = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["when"] = when
_env.globals.update(htmx_config=HTMX_CONFIG, htmx_url=HTMX_URL)
templates = Jinja2Templates(env=_env)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """Render a page or fragment. Never cached: pages carry the CSRF token, some a secret."""
    ctx = {"htmx_vendored": htmx_vendored(), **(context or {})}
    response = templates.TemplateResponse(
        request, template, ctx, status_code=status, headers={"Cache-Control": "no-store"}
    )
    if headers:
        response.headers.update(headers)
    return response
