"""Users (sub-accounts) and their per-user limits: ``/api/v1/users``."""

from __future__ import annotations

from hangar.client.errors import HangarAPIError, HangarLookupError
from hangar.client.transport import UNSET, Transport, Unset, payload, segment
from hangar.tenancy.schemas import (
    UserCreate,
    UserLimitsRead,
    UserLimitsUpdate,
    UserRead,
    UserUpdate,
)

BASE = "/api/v1/users"
QUERY_MAX = 64  # the server's limit on ?q=


class UsersAPI:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def list(self, *, query: str = "") -> list[UserRead]:
        """Users of your organisation; ``query`` matches username or display name."""
        return self._t.get_list(UserRead, BASE, params={"q": query or None})

    def get(self, user_id: str) -> UserRead:
        return self._t.get(UserRead, f"{BASE}/{segment(user_id)}")

    def find(self, ref: str) -> UserRead:
        """The user whose username or id is ``ref``."""
        ref = ref.strip()
        if not ref:
            raise HangarLookupError("user", ref, "a username or user id is required")
        if len(ref) <= QUERY_MAX:
            for user in self.list(query=ref):
                if user.username == ref:
                    return user
        try:
            return self.get(ref)
        except HangarAPIError as exc:
            if exc.status != 404:
                raise
        raise HangarLookupError(
            "user", ref, f"user '{ref}' not found: no username or id matches in your organisation"
        )

    def create(
        self, *, username: str, password: str, display_name: str = "", email: str = ""
    ) -> UserRead:
        body = payload(
            UserCreate,
            username=username,
            password=password,
            display_name=display_name,
            email=email,
        )
        return self._t.send(UserRead, "POST", BASE, json=body)

    def update(
        self,
        user_id: str,
        *,
        display_name: str | Unset = UNSET,
        email: str | Unset = UNSET,
        password: str | Unset = UNSET,
        disabled: bool | Unset = UNSET,
    ) -> UserRead:
        """Change only the arguments passed. A new password ends the user's console sessions."""
        body = payload(
            UserUpdate, display_name=display_name, email=email, password=password, disabled=disabled
        )
        return self._t.send(UserRead, "PATCH", f"{BASE}/{segment(user_id)}", json=body)

    def disable(self, user_id: str) -> UserRead:
        """Lock the user out at once: sessions end and every token is refused."""
        return self.update(user_id, disabled=True)

    def enable(self, user_id: str) -> UserRead:
        return self.update(user_id, disabled=False)

    def delete(self, user_id: str) -> None:
        self._t.request("DELETE", f"{BASE}/{segment(user_id)}")

    def get_limits(self, user_id: str) -> UserLimitsRead:
        return self._t.get(UserLimitsRead, f"{BASE}/{segment(user_id)}/limits")

    def set_limits(
        self,
        user_id: str,
        *,
        max_gpus: int | Unset | None = UNSET,
        max_cpus: int | Unset | None = UNSET,
        pfs_gib: int | Unset | None = UNSET,
    ) -> UserLimitsRead:
        """Set per-user overrides; ``None`` clears one so the tenant default applies."""
        body = payload(UserLimitsUpdate, max_gpus=max_gpus, max_cpus=max_cpus, pfs_gib=pfs_gib)
        return self._t.send(UserLimitsRead, "PATCH", f"{BASE}/{segment(user_id)}/limits", json=body)
