"""The SDK's resources namespaces return the API's own models and raise its errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hangar.client import HangarAPIError, HangarClient, HangarLookupError
from hangar.db.engine import make_engine, make_session_factory, transaction
from hangar.resources.inventory import sync_inventory
from hangar.resources.schemas import ClusterRead, NodeRead, QueueRead, QuotaRead, SpecRead, Usage
from hangar.resources.types import Source, Status, WorkloadType
from tests.resources.conftest import GIB, HOSTS
from tests.support import ADMIN_PASSWORD, live_server
from tests.support import test_settings as settings_for


@pytest.fixture(scope="module")
def admin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HangarClient]:
    tmp: Path = tmp_path_factory.mktemp("sdk-resources")
    with live_server(settings_for(tmp / "home", f"sqlite:///{tmp}/h.db")) as url:
        engine = make_engine(f"sqlite:///{tmp}/h.db")
        with transaction(make_session_factory(engine)) as session:
            sync_inventory(session, HOSTS, backend="ci")
        engine.dispose()
        with HangarClient(url) as client:
            client.login("admin", ADMIN_PASSWORD, "sdk-resources")
            yield client


def test_inventory_quota_and_queue_calls(admin: HangarClient) -> None:
    me = admin.whoami()
    cluster = admin.clusters.create(name="ded-a", tenant_id=me.tenant_id)
    assert isinstance(cluster, ClusterRead) and admin.clusters.find("ded-a").id == cluster.id
    for node in admin.nodes.list():
        if node.name in ("gpu-a1", "gpu-a2"):
            assert isinstance(admin.nodes.assign(node.id, cluster_id=cluster.id), NodeRead)
    assert admin.clusters.get("ded-a").capacity.gpus == 16
    declared = admin.nodes.devices(cluster="ded-a", source=Source.DECLARED)
    assert len(declared) == 16
    spec = admin.specs.create(
        cluster_id=cluster.id, cpu_millicores=42_000, mem_bytes=350 * GIB, accel_model="H800",
        accel_count=2,
    )  # fmt: skip
    assert isinstance(spec, SpecRead) and spec.display == "42C_350G_2*H800"
    ws = admin.workspaces.create(name="SdkTeam")
    quota = admin.quotas.create(
        name="sdk-q", cluster_id=cluster.id, spec_id=spec.id, workload_types=["training"],
        instance_count=2, weight=3, workspace_ids=[ws.id],
    )  # fmt: skip
    assert isinstance(quota, QuotaRead) and quota.usage.total.gpus == 4
    assert [q.id for q in admin.quotas.list(workspace="SdkTeam")] == [quota.id]
    assert admin.quotas.list(workload_type=WorkloadType.IDE) == []
    with pytest.raises(HangarAPIError) as err:
        admin.quotas.resize(quota.id, instance_count=3)
    assert err.value.status == 409 and "RQ14" in err.value.message
    assert admin.quotas.stop(quota.id).status is Status.STOPPED
    assert admin.quotas.resize(quota.id, instance_count=3, weight=4).weight == 4
    assert isinstance(admin.quotas.usage(quota.id), Usage)
    assert admin.quotas.edit(quota.id, description="sdk").description == "sdk"
    admin.quotas.dissociate(quota.id, ws.id)
    assert admin.quotas.associate(quota.id, ws.id).workspaces[0].name == "SdkTeam"
    admin.quotas.delete(quota.id)
    with pytest.raises(HangarLookupError):
        admin.quotas.find("sdk-q")

    queue = admin.queues.create(
        name="sdk-queue", cluster_id=cluster.id, spec_id=spec.id, workload_types=["service"]
    )
    assert isinstance(queue, QueueRead)
    assert admin.queues.list(status=Status.STARTED)[0].builtin
    user = admin.users.create(username="sdk-member", password="user-pass-123")
    users = admin.queues.set_users(queue.id, admins=[me.id], members=[user.id]).users
    assert {(u.username, u.role.value) for u in users} == {
        ("admin", "admin"),
        ("sdk-member", "member"),
    }
    assert admin.queues.resize(queue.id, instance_count=2).instance_count == 2
    admin.queues.stop(queue.id)
    admin.queues.delete(queue.id)
