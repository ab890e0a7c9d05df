"""User groups: ``/api/v1/groups`` (tenant admins)."""

from __future__ import annotations

from collections.abc import Sequence

from hangar.client.errors import by_name_or_id
from hangar.client.transport import UNSET, Transport, Unset, payload, segment
from hangar.tenancy.schemas import GroupCreate, GroupMembersIn, GroupQuota, GroupRead, GroupUpdate

BASE = "/api/v1/groups"


class GroupsAPI:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def list(self) -> list[GroupRead]:
        return self._t.get_list(GroupRead, BASE)

    def get(self, group_id: str) -> GroupRead:
        return self._t.get(GroupRead, f"{BASE}/{segment(group_id)}")

    def find(self, ref: str) -> GroupRead:
        """The group whose name or id is ``ref``."""
        return by_name_or_id(
            self.list(), ref, "group", f"group '{ref}' not found: no group name or id matches"
        )

    def quota(self) -> GroupQuota:
        """How many custom groups exist, the cap, and how many more may be created."""
        return self._t.get(GroupQuota, f"{BASE}/quota")

    def create(
        self, *, name: str, description: str = "", policy: str | Unset | None = UNSET
    ) -> GroupRead:
        """``policy="second_level_admin"`` makes members second-level admins."""
        body = payload(GroupCreate, name=name, description=description, policy=policy)
        return self._t.send(GroupRead, "POST", BASE, json=body)

    def update(
        self,
        group_id: str,
        *,
        name: str | Unset = UNSET,
        description: str | Unset = UNSET,
        policy: str | Unset = UNSET,
    ) -> GroupRead:
        """``policy`` is ``"second_level_admin"`` or ``"none"``."""
        body = payload(GroupUpdate, name=name, description=description, policy=policy)
        return self._t.send(GroupRead, "PATCH", f"{BASE}/{segment(group_id)}", json=body)

    def delete(self, group_id: str) -> None:
        self._t.request("DELETE", f"{BASE}/{segment(group_id)}")

    def add_members(self, group_id: str, user_ids: Sequence[str]) -> GroupRead:
        body = payload(GroupMembersIn, user_ids=list(user_ids))
        return self._t.send(GroupRead, "POST", f"{BASE}/{segment(group_id)}/members", json=body)

    def remove_member(self, group_id: str, user_id: str) -> None:
        self._t.request("DELETE", f"{BASE}/{segment(group_id)}/members/{segment(user_id)}")
