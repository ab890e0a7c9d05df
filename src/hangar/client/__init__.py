"""The Hangar Python SDK: ``HangarClient`` and the errors it raises.

Requests and responses are the API's own models (``hangar.tenancy.schemas``,
``hangar.audit.schemas``), so the SDK and the server cannot drift apart.
"""

from hangar.client.audit import AuditQuery
from hangar.client.client import HangarClient
from hangar.client.errors import (
    HangarAPIError,
    HangarClientError,
    HangarConnectionError,
    HangarLookupError,
    HangarResponseError,
)
from hangar.client.transport import UNSET, InvalidServerURL, Unset, normalize_server_url

__all__ = [
    "UNSET",
    "AuditQuery",
    "HangarAPIError",
    "HangarClient",
    "HangarClientError",
    "HangarConnectionError",
    "HangarLookupError",
    "HangarResponseError",
    "InvalidServerURL",
    "Unset",
    "normalize_server_url",
]
