"""Inventory: clusters, nodes, devices; DISCOVERED vs DECLARED; syncs; who sees what."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from hangar.backends.inventory import Inventory
from hangar.resources.inventory import sync_inventory
from hangar.resources.orm import Device, Node
from tests.resources.conftest import GIB, HOSTS, Setup, gpus, host, report_hosts
from tests.support import Hangar, assert_error, create_tenant, running_hangar
from tests.support import test_settings as settings_for


def test_the_local_host_is_in_the_default_cluster_with_its_declared_gpus(tmp_path: Path) -> None:
    declared = [{"model": "L40S", "memory_gib": 44, "count": 2}]
    settings = settings_for(tmp_path / "home", f"sqlite:///{tmp_path}/h.db", declared_gpus=declared)
    with running_hangar(settings) as h:
        clusters = h.admin.call("GET", "/api/v1/clusters")
        assert [c["kind"] for c in clusters] == ["default"]
        assert clusters[0]["capacity"]["gpu_models"].get("L40S") == 2
        (local,) = h.admin.call("GET", "/api/v1/nodes")
        assert local["backend"] == "local" and local["cpu_millicores"] > 0
        declared_rows = [d for d in local["devices"] if d["source"] == "DECLARED"]
        assert len(declared_rows) == 2
        assert all(d["uuid"].startswith("DECLARED-") for d in declared_rows)
        assert all(d["memory_bytes"] == 44 * GIB for d in declared_rows)
        only = h.admin.call("GET", "/api/v1/devices?source=DECLARED")
        assert {d["uuid"] for d in only} == {d["uuid"] for d in declared_rows}
    # A restart with the same settings finds the same rows, not new ones.
    with running_hangar(settings) as h:
        (again,) = h.admin.call("GET", "/api/v1/nodes")
        assert again["id"] == local["id"]
        assert {d["id"] for d in again["devices"]} == {d["id"] for d in local["devices"]}


def test_sync_is_idempotent_and_marks_vanished_rows_unhealthy(hangar: Hangar) -> None:
    with hangar.state.sessions() as session, session.begin():
        first = sync_inventory(session, HOSTS, backend="ci")
        again = sync_inventory(session, HOSTS, backend="ci")
    assert (first.added, first.updated, first.vanished) == (4, 0, 0)
    assert (again.added, again.updated, again.vanished) == (0, 4, 0)
    smaller = Inventory(
        hosts=(
            host("gpu-a1", 170, 1400, gpus("gpu-a1", "H800", 80, 7)),  # card 7 is gone
            *HOSTS.hosts[2:],
        )
    )
    with hangar.state.sessions() as session, session.begin():
        result = sync_inventory(session, smaller, backend="ci")
        assert result.vanished == 1  # gpu-a2
        a2 = session.scalar(select(Node).where(Node.name == "gpu-a2"))
        assert a2 is not None and not a2.healthy and "not reported" in a2.status_reason
        gone = session.scalar(select(Device).where(Device.uuid == "DECLARED-gpu-a1-7"))
        assert gone is not None and not gone.healthy  # kept, marked, never deleted
        assert session.scalar(select(Device).where(Device.uuid == "DECLARED-gpu-a2-0"))
    default = hangar.admin.call("GET", "/api/v1/clusters")[0]
    assert default["capacity"]["gpu_models"]["H800"] == 7
    assert default["nodes"] - default["healthy_nodes"] == 1
    # Reported again: healthy again.
    report_hosts(hangar)
    assert hangar.admin.call("GET", "/api/v1/clusters")[0]["capacity"]["gpu_models"]["H800"] == 16


def test_other_backends_sync_leaves_local_rows_alone(hangar: Hangar) -> None:
    local = hangar.admin.call("GET", "/api/v1/nodes")
    report_hosts(hangar, Inventory(hosts=()))
    assert hangar.admin.call("GET", "/api/v1/nodes") == local


def test_dedicated_clusters_are_named_node_sets(setup: Setup) -> None:
    s = setup
    names = {n["name"]: n for n in s.admin.call("GET", f"/api/v1/nodes?cluster={s.cluster['id']}")}
    assert set(names) == {"gpu-a1", "gpu-a2"}
    assert all(n["cluster_name"] == "ded-a" for n in names.values())
    assert s.cluster["kind"] == "dedicated"
    ded = s.admin.call("GET", "/api/v1/clusters/ded-a")
    assert ded["capacity"]["gpus"] == 16 and ded["capacity"]["cpu_millicores"] == 340_000
    # Moving a node out of a cluster whose quotas hold its cards is refused.
    s.quota("big", cards=8, instance_count=2)
    body = assert_error(
        s.admin.put(
            f"/api/v1/nodes/{names['gpu-a1']['id']}/cluster",
            json={"cluster_id": s.admin.call("GET", "/api/v1/clusters")[0]["id"]},
        ),
        409,
    )
    assert "8 H800 card(s) while its quotas and queues hold 16" in body["message"]
    body = assert_error(s.admin.delete(f"/api/v1/clusters/{s.cluster['id']}"), 409)
    assert "quota 'big'" in body["message"]


def test_cluster_admin_actions(setup: Setup) -> None:
    s = setup
    me = s.admin.call("GET", "/api/v1/auth/me")
    assert_error(
        s.admin.post("/api/v1/clusters", json={"name": "ded-a", "tenant_id": me["tenant_id"]}), 409
    )
    body = assert_error(
        s.admin.post("/api/v1/clusters", json={"name": "bad name", "tenant_id": me["tenant_id"]}),
        422,
    )
    assert "may contain only" in body["fields"]["name"]
    assert_error(s.admin.post("/api/v1/clusters", json={"name": "x", "tenant_id": "nope"}), 404)
    c = s.admin.call(
        "POST", "/api/v1/clusters", 201, json={"name": "ded-b", "tenant_id": me["tenant_id"]}
    )
    assert (
        s.admin.call("PATCH", f"/api/v1/clusters/{c['id']}", json={"description": "d"})[
            "description"
        ]
        == "d"
    )
    default = s.admin.call("GET", "/api/v1/clusters")[0]
    assert_error(s.admin.patch(f"/api/v1/clusters/{default['id']}", json={"name": "x"}), 409)
    assert_error(s.admin.delete(f"/api/v1/clusters/{default['id']}"), 409)
    l1 = next(n for n in s.admin.call("GET", "/api/v1/nodes") if n["name"] == "gpu-l1")
    s.admin.call("PUT", f"/api/v1/nodes/{l1['id']}/cluster", json={"cluster_id": c["id"]})
    s.admin.call("DELETE", f"/api/v1/clusters/{c['id']}", 204)  # the node goes back
    back = next(n for n in s.admin.call("GET", "/api/v1/nodes") if n["name"] == "gpu-l1")
    assert back["cluster_id"] == default["id"]


def test_who_sees_what(setup: Setup) -> None:
    s = setup
    _user, api = s.h.user_api("viewer")
    # Everyone sees clusters and specs (they pick them in forms) ...
    assert [c["name"] for c in api.call("GET", "/api/v1/clusters")] == ["default", "ded-a"]
    assert len(api.call("GET", "/api/v1/specs?cluster=ded-a")) == 5
    # ... but the node and device inventory is the admins' (spec 01 §1.1).
    assert_error(api.get("/api/v1/nodes"), 403)
    assert_error(api.get("/api/v1/devices"), 403)
    # Creating clusters and assigning nodes is the platform admin's.
    me = api.call("GET", "/api/v1/auth/me")
    assert_error(
        api.post("/api/v1/clusters", json={"name": "x", "tenant_id": me["tenant_id"]}), 403
    )
    owner = create_tenant(s.h, "other-co", "other-owner")
    assert_error(
        owner.post("/api/v1/clusters", json={"name": "x", "tenant_id": me["tenant_id"]}), 403
    )
    # Another tenant sees the default cluster only; our cluster is 404 to them.
    assert [c["name"] for c in owner.call("GET", "/api/v1/clusters")] == ["default"]
    assert_error(owner.get(f"/api/v1/clusters/{s.cluster['id']}"), 404)
    assert_error(owner.get(f"/api/v1/nodes?cluster={s.cluster['id']}"), 404)
    assert all(n["cluster_name"] == "default" for n in owner.call("GET", "/api/v1/nodes"))
    assert owner.call("GET", "/api/v1/specs?cluster=default") == []
    assert_error(owner.get(f"/api/v1/specs?cluster={s.cluster['id']}"), 404)
