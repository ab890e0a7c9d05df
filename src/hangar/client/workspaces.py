"""Workspaces and their members: ``/api/v1/workspaces``."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence

from hangar.client.errors import by_name_or_id
from hangar.client.transport import UNSET, Transport, Unset, payload, segment
from hangar.tenancy.matrix import Role
from hangar.tenancy.schemas import (
    MemberAdd,
    MemberRead,
    MemberUpdate,
    WorkspaceCreate,
    WorkspaceRead,
    WorkspaceUpdate,
)

BASE = "/api/v1/workspaces"


class WorkspacesAPI:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def list(self) -> list[WorkspaceRead]:
        """The workspaces you may enter: all of them for tenant admins."""
        return self._t.get_list(WorkspaceRead, BASE)

    def get(self, workspace_id: str) -> WorkspaceRead:
        return self._t.get(WorkspaceRead, f"{BASE}/{segment(workspace_id)}")

    def find(self, ref: str) -> WorkspaceRead:
        """The workspace whose name or id is ``ref``, among those you may enter."""
        return by_name_or_id(
            self.list(), ref, "workspace",
            f"workspace '{ref}' not found: no workspace you can enter has that name or id",
        )  # fmt: skip

    def create(
        self, *, name: str, description: str = "", tags: Mapping[str, str] | None = None
    ) -> WorkspaceRead:
        body = payload(WorkspaceCreate, name=name, description=description, tags=dict(tags or {}))
        return self._t.send(WorkspaceRead, "POST", BASE, json=body)

    def update(
        self,
        workspace_id: str,
        *,
        name: str | Unset = UNSET,
        description: str | Unset = UNSET,
        tags: Mapping[str, str] | Unset = UNSET,
    ) -> WorkspaceRead:
        """Change only what is passed; ``tags`` replaces all tags."""
        body = payload(
            WorkspaceUpdate,
            name=name,
            description=description,
            tags=tags if isinstance(tags, Unset) else dict(tags),
        )
        return self._t.send(WorkspaceRead, "PATCH", f"{BASE}/{segment(workspace_id)}", json=body)

    def delete(self, workspace_id: str) -> None:
        self._t.request("DELETE", f"{BASE}/{segment(workspace_id)}")

    # --- members ------------------------------------------------------------------------
    def list_members(self, workspace_id: str) -> builtins.list[MemberRead]:
        """Explicit members plus tenant admins (``implicit=True``, admins everywhere)."""
        return self._t.get_list(MemberRead, f"{BASE}/{segment(workspace_id)}/members")

    def add_member(
        self, workspace_id: str, *, user_id: str, roles: Sequence[Role | str]
    ) -> MemberRead:
        body = payload(MemberAdd, user_id=user_id, roles=[str(r) for r in roles])
        return self._t.send(
            MemberRead, "POST", f"{BASE}/{segment(workspace_id)}/members", json=body
        )

    def update_member(
        self, workspace_id: str, user_id: str, *, roles: Sequence[Role | str]
    ) -> MemberRead:
        """Replace the member's roles."""
        body = payload(MemberUpdate, roles=[str(r) for r in roles])
        path = f"{BASE}/{segment(workspace_id)}/members/{segment(user_id)}"
        return self._t.send(MemberRead, "PUT", path, json=body)

    def remove_member(self, workspace_id: str, user_id: str) -> None:
        self._t.request("DELETE", f"{BASE}/{segment(workspace_id)}/members/{segment(user_id)}")
