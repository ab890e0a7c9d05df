"""``HangarClient``: the typed, synchronous Python SDK for one Hangar server."""

from __future__ import annotations

import ssl
from types import TracebackType

from hangar.client.audit import AuditAPI
from hangar.client.billing import BillingAPI
from hangar.client.clusters import ClustersAPI, NodesAPI, SpecsAPI
from hangar.client.datasets import DatasetsAPI, StoragesAPI
from hangar.client.devenvs import DevEnvsAPI
from hangar.client.errors import HangarClientError
from hangar.client.groups import GroupsAPI
from hangar.client.images import ImagesAPI
from hangar.client.jobs import JobsAPI, WaitingAPI
from hangar.client.models import CodePackagesAPI, ModelsAPI
from hangar.client.quotas import QueuesAPI, QuotasAPI
from hangar.client.settings import SettingsAPI
from hangar.client.tenants import TenantsAPI
from hangar.client.tokens import TokensAPI
from hangar.client.transport import DEFAULT_TIMEOUT, UNSET, Transport, Unset, payload
from hangar.client.usage import UsageAPI
from hangar.client.users import UsersAPI
from hangar.client.workspaces import WorkspacesAPI
from hangar.tenancy.schemas import Me, PasswordChange, TokenCreated, TokenLoginIn

AUTH = "/api/v1/auth"


class HangarClient:
    """Talks to one server, authenticated by an API token (``Authorization: Bearer``).

    ``verify`` is passed to httpx: ``False`` skips TLS checks, an ``SSLContext`` trusts a
    private CA. Use as a context manager, or call :meth:`close`. Methods return the API's
    own pydantic models and raise :class:`~hangar.client.errors.HangarClientError`
    subclasses::

        with HangarClient("http://127.0.0.1:8420") as hangar:
            hangar.login("admin", password, token_name="script")
            for ws in hangar.workspaces.list():
                print(ws.name, ws.member_count)
    """

    def __init__(
        self,
        server_url: str,
        token: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        verify: bool | ssl.SSLContext = True,
    ) -> None:
        self._t = Transport(server_url, token, timeout=timeout, verify=verify)
        self.users = UsersAPI(self._t)
        self.groups = GroupsAPI(self._t)
        self.workspaces = WorkspacesAPI(self._t)
        self.tokens = TokensAPI(self._t)
        self.audit = AuditAPI(self._t)
        self.settings = SettingsAPI(self._t)
        self.tenants = TenantsAPI(self._t)
        self.clusters = ClustersAPI(self._t)
        self.nodes = NodesAPI(self._t)
        self.specs = SpecsAPI(self._t)
        self.quotas = QuotasAPI(self._t)
        self.queues = QueuesAPI(self._t)
        self.jobs = JobsAPI(self._t)
        self.devenvs = DevEnvsAPI(self._t)
        self.images = ImagesAPI(self._t)
        self.models = ModelsAPI(self._t)
        self.code = CodePackagesAPI(self._t)  # code packages
        self.datasets = DatasetsAPI(self._t)
        self.storages = StoragesAPI(self._t)  # external storages datasets point at
        self.waiting = WaitingAPI(self._t)  # the admission queue view
        self.billing = BillingAPI(self._t)
        self.usage = UsageAPI(self._t)

    @property
    def server_url(self) -> str:
        return self._t.server_url

    @property
    def token(self) -> str | None:
        return self._t.token

    @token.setter
    def token(self, value: str | None) -> None:
        self._t.token = value

    # --- auth ---------------------------------------------------------------------------
    def login(
        self,
        username: str,
        password: str,
        token_name: str = "cli",  # noqa: S107 - a label, not a secret
        *,
        expires_in_days: int | Unset | None = UNSET,
    ) -> TokenCreated:
        """Exchange a password for a new API token; the client uses it from now on.

        The secret is ``TokenCreated.token``; the server never shows it again.
        """
        body = payload(
            TokenLoginIn,
            username=username,
            password=password,
            token_name=token_name,
            expires_in_days=expires_in_days,
        )
        created = self._t.parse(
            TokenCreated, self._t.request("POST", f"{AUTH}/token", json=body, auth=False)
        )
        self._t.token = created.token
        return created

    def logout(self) -> None:
        """Revoke the token this client uses, then forget it."""
        if not self._t.token:
            raise HangarClientError("not logged in: this client has no token to revoke")
        self._t.request("POST", f"{AUTH}/logout")
        self._t.token = None

    def change_password(self, current_password: str, new_password: str) -> None:
        """Change the caller's own password; their other console sessions end."""
        body = payload(PasswordChange, current_password=current_password, new_password=new_password)
        self._t.request("POST", f"{AUTH}/password", json=body)

    def whoami(self) -> Me:
        """The caller: user, organisation, tenant roles, and how they authenticated."""
        return self._t.get(Me, f"{AUTH}/me")

    # --- lifecycle ----------------------------------------------------------------------
    def close(self) -> None:
        self._t.close()

    def __enter__(self) -> HangarClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
