"""API tokens: ``/api/v1/tokens``. Your own, or (tenant admins) everyone's."""

from __future__ import annotations

from collections.abc import Sequence

from hangar.client.errors import HangarLookupError
from hangar.client.transport import UNSET, Transport, Unset, payload, segment
from hangar.tenancy.schemas import TokenCreate, TokenCreated, TokenRead

BASE = "/api/v1/tokens"


class TokensAPI:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def list(self, *, all_users: bool = False) -> list[TokenRead]:
        """Your tokens; ``all_users=True`` lists the whole organisation's (tenant admins)."""
        return self._t.get_list(TokenRead, BASE, params={"all": True if all_users else None})

    def get(self, token_id: str) -> TokenRead:
        return self._t.get(TokenRead, f"{BASE}/{segment(token_id)}")

    def find(self, ref: str, *, all_users: bool = False) -> TokenRead:
        """The token whose id or prefix is ``ref``, else the one live token named ``ref``."""
        found = self.list(all_users=all_users)
        for token in found:
            if ref in (token.id, token.prefix):
                return token
        named = [t for t in found if t.name == ref]
        live = [t for t in named if t.revoked_at is None] or named
        if len(live) == 1:
            return live[0]
        if live:
            raise HangarLookupError(
                "token",
                ref,
                f"{len(live)} tokens are named '{ref}'; give the id of the one you mean",
            )
        raise HangarLookupError(
            "token", ref, f"token '{ref}' not found: no token id, prefix or name matches"
        )

    def create(
        self,
        *,
        name: str,
        scopes: Sequence[str] | Unset = UNSET,
        expires_in_days: int | Unset | None = UNSET,
    ) -> TokenCreated:
        """Create a token for yourself. ``TokenCreated.token`` is the secret, returned once.

        ``expires_in_days=None`` makes a token that never expires; unset, the server default.
        """
        body = payload(
            TokenCreate,
            name=name,
            scopes=scopes if isinstance(scopes, Unset) else list(scopes),
            expires_in_days=expires_in_days,
        )
        return self._t.send(TokenCreated, "POST", BASE, json=body)

    def revoke(self, token_id: str) -> TokenRead:
        """Revoke at once. The token stays listed, marked revoked."""
        return self._t.send(TokenRead, "DELETE", f"{BASE}/{segment(token_id)}")
