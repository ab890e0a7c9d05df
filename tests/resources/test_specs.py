"""Resource specs as explicit records (spec 02 §3, B7), their display strings and checks."""

from __future__ import annotations

from tests.resources.conftest import GIB, Setup, spec_body
from tests.support import assert_error, create_tenant

S = "/api/v1/specs"


def test_display_strings(setup: Setup) -> None:
    s = setup
    assert s.specs[1]["display"] == "21C_175G_1*H800"
    # B7: the whole-node spec is its own record, not 8 × the 1-card spec.
    assert s.specs[8]["display"] == "170C_1400G_8*H800"
    assert s.cpu_spec["display"] == "2C8G" and s.cpu_spec["name"] == "2C8G"
    named = s.admin.call("POST", S, 201, json={**spec_body(s.cluster["id"], 1), "name": "h800-one"})
    assert (named["name"], named["display"]) == ("h800-one", "21C_175G_1*H800")
    by_cluster = s.admin.call("GET", f"{S}?cluster=ded-a")
    assert {x["display"] for x in by_cluster} >= {"2C8G", "84C_700G_4*H800"}


def test_vgpu_spec(setup: Setup) -> None:
    """Spec 02 §9's example: an L40S node with a 44 GiB card and a 9-core, 79 GiB share."""
    s = setup
    default = s.admin.call("GET", "/api/v1/clusters")[0]
    l40s = {
        "cluster_id": default["id"], "accel_model": "L40S", "accel_count": 2,
        "vgpu_vram_gib": 5, "cpu_millicores": 2000, "mem_bytes": 16 * GIB,
    }  # fmt: skip
    made = s.admin.call("POST", S, 201, json=l40s)
    assert made["display"] == "2*(L40S(eGPU)_5G_1C_8G)"
    assert made["vgpu_vram_gib"] == 5 and made["accel_count"] == 2
    for change, field, rule in (
        ({"vgpu_vram_gib": 45}, "vgpu_vram_gib", "at most the physical L40S card's 44 GiB"),
        ({"vgpu_vram_gib": 0}, "vgpu_vram_gib", "at least 1 GiB"),
        ({"accel_count": 5, "cpu_millicores": 5000, "mem_bytes": 40 * GIB}, "vgpu_count",
         "at most the node's 4 physical L40S cards"),
        ({"cpu_millicores": 20_000}, "vgpu_cpu_cores", "CPU share of 9 cores"),
        ({"mem_bytes": 160 * GIB}, "vgpu_mem_gib", "memory share of 79 GiB"),
        ({"cpu_millicores": 2500}, "cpu_millicores", "multiples of the card count"),
    ):  # fmt: skip
        body = assert_error(s.admin.post(S, json={**l40s, **change, "name": "v"}), 422)
        assert rule in body["fields"][field], body


def test_bad_specs(setup: Setup) -> None:
    s = setup
    body = assert_error(s.admin.post(S, json=spec_body(s.cluster["id"], 1, model="A100")), 422)
    assert "has no A100 cards (it has: H800)" in body["fields"]["accel_model"]
    body = assert_error(s.admin.post(S, json=spec_body(s.cluster["id"], 1)), 409)
    assert "already has a spec named '21C_175G_1*H800'" in body["message"]
    body = assert_error(
        s.admin.post(S, json={"cluster_id": s.cluster["id"], "cpu_millicores": 0, "mem_bytes": 1}),
        422,
    )
    assert "cpu" in body["fields"]
    body = assert_error(
        s.admin.post(S, json={**spec_body(s.cluster["id"], 1), "unknown": 1, "name": "z"}), 422
    )
    assert "not a known field" in body["fields"]["unknown"]
    assert_error(s.admin.post(S, json={**spec_body("nope", 1)}), 404)


def test_delete_spec(setup: Setup) -> None:
    s = setup
    q = s.quota("uses-two", cards=2)
    body = assert_error(s.admin.delete(f"{S}/{s.specs[2]['id']}"), 409)
    assert "used by quota 'uses-two'" in body["message"]
    s.admin.call("DELETE", f"{S}/{s.specs[1]['id']}", 204)
    assert_error(s.admin.delete(f"{S}/{s.specs[1]['id']}"), 404)
    assert q["spec"]["id"] == s.specs[2]["id"]


def test_who_may_define_specs(setup: Setup) -> None:
    s = setup
    _u, user = s.h.user_api("plain")
    assert_error(user.post(S, json=spec_body(s.cluster["id"], 1)), 403)
    # A tenant admin (not the platform admin) defines specs of the tenant's dedicated
    # clusters only; the default cluster's specs are the platform admin's.
    _a, tenant_admin = s.h.user_api("tadmin", groups=("admin",))
    made = tenant_admin.call("POST", S, 201, json={**spec_body(s.cluster["id"], 1), "name": "t"})
    tenant_admin.call("DELETE", f"{S}/{made['id']}", 204)
    default = s.admin.call("GET", "/api/v1/clusters")[0]
    body = assert_error(
        tenant_admin.post(S, json={"cluster_id": default["id"], "cpu_millicores": 1000,
                                   "mem_bytes": GIB}),
        403,
    )  # fmt: skip
    assert "platform admin" in body["message"]
    other = create_tenant(s.h, "other-co", "other-owner")
    assert_error(other.post(S, json=spec_body(s.cluster["id"], 1)), 404)
    assert_error(other.delete(f"{S}/{s.specs[1]['id']}"), 404)
