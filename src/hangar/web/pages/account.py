"""The signed-in user's own account: profile and password change."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from hangar.api.deps import CurrentActor, SessionDep, console_session
from hangar.tenancy import users
from hangar.tenancy.schemas import PasswordChange
from hangar.web.chrome import PageChrome
from hangar.web.forms import parse
from hangar.web.templating import render

router = APIRouter(prefix="/account", include_in_schema=False)


@router.get("")
def account_page(request: Request, actor: CurrentActor, chrome: PageChrome) -> Response:
    return render(request, "account/page.html", {"chrome": chrome, "user": actor.user})


@router.post("/password", name="auth.password_change")
def change_password(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    current_password: Annotated[str, Form()] = "",
    new_password: Annotated[str, Form()] = "",
) -> Response:
    data = parse(PasswordChange, current_password=current_password, new_password=new_password)
    row = console_session(request)
    users.do_change_own_password(
        session,
        user=actor.user,
        current=data.current_password,
        new=data.new_password,
        keep_session_id=row.id if row else None,
    )
    flash = "Password changed. Your other console sessions were signed out."
    return render(request, "account/_password.html", {"flash": flash})
