"""Logging in and out of the console (the session cookie is the API's, set the same way)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from hangar.api.deps import (
    SESSION_COOKIE,
    CurrentActor,
    SessionDep,
    SettingsDep,
    client_addr,
    console_session,
)
from hangar.tenancy import auth
from hangar.tenancy.routes.auth import password_login, set_session_cookie
from hangar.tenancy.schemas import LoginIn
from hangar.web.errors import safe_next
from hangar.web.forms import parse
from hangar.web.templating import is_htmx, render

router = APIRouter(include_in_schema=False)
# Where to go after logging in: ``/login?next=/audit`` (the form posts back to that URL).
NextPath = Annotated[str, Query(alias="next", max_length=2048)]


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/workspaces", status_code=303)


@router.get("/login")
def login_page(request: Request, next_path: NextPath = "/") -> Response:
    context: dict[str, object] = {
        "error": None,
        "fields": {},
        "next": safe_next(next_path),
        "username": "",
    }
    return render(request, "login.html", context)


@router.post("/login", name="auth.login")
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next_path: NextPath = "/",
) -> Response:
    """A plain form post (it must work before htmx loads); sets the same cookie as the API."""
    request.state.login_username = username[:64]
    body = parse(LoginIn, username=username, password=password)
    user = password_login(request, session, settings, body)
    _row, cookie = auth.do_create_session(
        session,
        user=user,
        ttl=timedelta(hours=settings.session_ttl_hours),
        client_addr=client_addr(request),
    )
    response = RedirectResponse(safe_next(next_path), status_code=303)
    set_session_cookie(response, cookie, settings.session_ttl_hours, settings.secure_cookies)
    return response


@router.post("/logout", name="auth.logout")
def logout(request: Request, session: SessionDep, actor: CurrentActor) -> Response:
    """Ends this console session (an htmx post, so the CSRF check applies)."""
    row = console_session(request)
    if row is not None:
        auth.do_end_session(session, row=row)
    response: Response
    if is_htmx(request):
        response = Response(headers={"HX-Redirect": "/login"})
    else:
        response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
