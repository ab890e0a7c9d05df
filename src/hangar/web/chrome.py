"""The frame around every console page: navigation, workspace switcher, user and tenant."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from hangar.api.deps import CurrentActor, SessionDep, console_session
from hangar.errors import Conflict
from hangar.tenancy import workspaces
from hangar.tenancy.access import Actor
from hangar.tenancy.orm import Tenant, Workspace
from hangar.web.permissions import can


@dataclass(frozen=True)
class NavEntry:
    """A top-level page; shown only to users whose tenant roles grant ``capability``."""

    label: str
    href: str
    capability: str


# The page routes gate on these same capabilities, so a visible link never leads to a 403.
WORKSPACES = NavEntry("Workspaces", "/workspaces", "workspace.list")
RESOURCES = NavEntry("Resources", "/resources", "cluster.view")
QUOTAS = NavEntry("Quotas", "/quotas", "quota.access")
# Jobs live in workspaces: everyone may open the page; the matrix filters what it shows.
DEVENVS = NavEntry("Dev environments", "/devenvs", "workspace.list")
JOBS = NavEntry("Jobs", "/jobs", "workspace.list")
IMAGES = NavEntry("Images", "/images", "workspace.list")
MODELS = NavEntry("Models", "/models", "workspace.list")
DATASETS = NavEntry("Datasets", "/datasets", "workspace.list")
CODE = NavEntry("Code", "/code", "workspace.list")
QUEUE = NavEntry("Queue", "/queue", "quota.access")
USERS = NavEntry("Users", "/users", "user.update")
GROUPS = NavEntry("Groups", "/groups", "group.list")
LIMITS = NavEntry("Limits", "/limits", "settings.view")
TOKENS = NavEntry("API tokens", "/tokens", "token.own")
AUDIT = NavEntry("Audit", "/audit", "audit.view")
# Billing and usage statistics are the tenant admins' (the API gates on the same capability);
# what is costing me now is everyone's (each sees what they may stop).
BILLING = NavEntry("Billing", "/billing", "settings.view")
USAGE = NavEntry("Usage", "/usage", "settings.view")
COSTS = NavEntry("Costs now", "/costs", "workspace.list")
SIMULATOR = NavEntry("Simulator", "/simulator", "cluster.view")
ACCOUNT = NavEntry("Account", "/account", "token.own")  # every user has token.own
NAV = (WORKSPACES, RESOURCES, QUOTAS, DEVENVS, JOBS, IMAGES, MODELS, DATASETS, CODE, QUEUE, COSTS,
       USERS, GROUPS, LIMITS, TOKENS, AUDIT, BILLING, USAGE, SIMULATOR, ACCOUNT)  # fmt: skip


@dataclass(frozen=True)
class Chrome:
    actor: Actor
    tenant_name: str
    csrf_token: str
    nav: tuple[NavEntry, ...]
    active: str
    workspaces: tuple[Workspace, ...]
    current_workspace: Workspace | None

    @property
    def workspace_or_first(self) -> Workspace | None:
        """The header's workspace, else the first one the user may enter."""
        return self.current_workspace or next(iter(self.workspaces), None)

    def chosen_workspace(self, ref: str, find: Callable[[str], Workspace]) -> Workspace:
        """The workspace a page asked for (``find`` checks entering it), else the header's."""
        ws = find(ref) if ref else self.workspace_or_first
        if ws is None:
            raise Conflict(
                "you are not a member of any workspace yet: ask a workspace admin to add you"
            )
        return ws


def page_chrome(request: Request, session: SessionDep, actor: CurrentActor) -> Chrome:
    tenant = session.get(Tenant, actor.tenant_id)
    assert tenant is not None
    row = console_session(request)
    enterable = tuple(workspaces.list_workspaces(session, actor=actor))
    remembered = row.workspace_id if row else None
    current = next((w for w in enterable if w.id == remembered), None) or next(
        (w for w in enterable if w.is_default), None
    )
    path = request.url.path
    return Chrome(
        actor=actor,
        tenant_name=tenant.name,
        csrf_token=row.csrf_token if row else "",
        nav=tuple(e for e in NAV if can(actor, e.capability)),
        active=next((e.href for e in NAV if path.startswith(e.href)), ""),
        workspaces=enterable,
        current_workspace=current,
    )


PageChrome = Annotated[Chrome, Depends(page_chrome)]


def remember_workspace(request: Request, session: Session, ws: Workspace) -> None:
    """Make ``ws`` the session's current workspace (W8: the header shows where you are).

    A display preference of this login, not a permission: access is checked on every request.
    """
    row = console_session(request)
    if row is not None and row.workspace_id != ws.id:
        row.workspace_id = ws.id
        session.flush()
