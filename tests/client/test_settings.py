"""``HangarClient.settings``: the tenant's default per-user limits, against a live server."""

from __future__ import annotations

import pytest

from hangar.client import UNSET, HangarAPIError, HangarClient
from hangar.tenancy.schemas import LimitsRead
from tests.support import USER_PASSWORD


def test_defaults_are_read_and_patched(admin: HangarClient) -> None:
    stock = admin.settings.get_limits()
    assert stock == LimitsRead(max_gpus=10_000, max_cpus=10_000, pfs_gib=512)

    changed = admin.settings.set_limits(max_gpus=8, pfs_gib=UNSET)
    assert changed == LimitsRead(max_gpus=8, max_cpus=10_000, pfs_gib=512)
    changed = admin.settings.set_limits(max_cpus=64, pfs_gib=100)
    assert changed == LimitsRead(max_gpus=8, max_cpus=64, pfs_gib=100)
    assert admin.settings.get_limits() == changed
    assert admin.settings.set_limits() == changed  # nothing passed, nothing sent

    # A user without an override gets the new defaults.
    user = admin.users.create(username="sdk-limits", password=USER_PASSWORD)
    assert admin.users.get_limits(user.id).effective == changed


def test_bad_defaults_get_the_servers_field_message(admin: HangarClient) -> None:
    before = admin.settings.get_limits()
    with pytest.raises(HangarAPIError) as negative:
        admin.settings.set_limits(max_gpus=-1)
    assert negative.value.status == 422 and "max_gpus" in negative.value.fields
    with pytest.raises(HangarAPIError) as over_cap:
        admin.settings.set_limits(pfs_gib=10**9)
    assert over_cap.value.status == 422
    assert "at most 1048576 on this installation" in over_cap.value.fields["pfs_gib"]
    assert admin.settings.get_limits() == before


def test_only_tenant_admins_read_the_defaults(server_url: str, admin: HangarClient) -> None:
    admin.users.create(username="sdk-plain", password=USER_PASSWORD)
    with HangarClient(server_url) as plain:
        plain.login("sdk-plain", USER_PASSWORD)
        with pytest.raises(HangarAPIError) as denied:
            plain.settings.get_limits()
    assert denied.value.status == 403 and denied.value.code == "permission_denied"
