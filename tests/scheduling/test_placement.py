"""Placement on nodes and devices (spec 02 §2, §8.5, §9 V2), alone and inside a cycle."""

from __future__ import annotations

from hangar.scheduling import (
    GIB,
    Code,
    Device,
    Node,
    Placement,
    PlacementIndex,
    Request,
    Resources,
    Snapshot,
    Unplaceable,
    Verdict,
    VgpuDemand,
    place,
    schedule,
)
from tests.scheduling.factories import job, node, quota, res, vjob


def placed(result: Placement | Unplaceable) -> Placement:
    assert isinstance(result, Placement), result
    return result


def refused(result: Placement | Unplaceable) -> Unplaceable:
    assert isinstance(result, Unplaceable), result
    return result


def vgpu(count: int, vram: int, pct: int | None = None, model: str = "L40s") -> Request:
    return Request(Resources.of(cpu=count, mem_gib=count), 1, VgpuDemand(model, count, vram, pct))


def test_whole_gpus_best_fit_by_free_cards_and_device_order() -> None:
    nodes = [node("roomy", 8), node("tight", 8, allocated=6)]
    p = placed(place(Request(res(2, 4, 16)), nodes))
    (rank,) = p.ranks
    assert rank.node == "tight"  # fewest free cards that still fit
    assert rank.gpu_uuids == ("tight-g6", "tight-g7")
    assert (rank.cpu_millicores, rank.mem_bytes) == (4000, 16 * GIB)


def test_cpu_and_memory_must_fit_too() -> None:
    nodes = [node("small-cpu", 8, cpu=4), node("big", 8, cpu=64)]
    assert placed(place(Request(res(1, 8)), nodes)).ranks[0].node == "big"


def test_gpu_model_is_respected() -> None:
    nodes = [node("h", 8, model="H800"), node("a", 8, model="A800")]
    assert placed(place(Request(res(1, model="A800")), nodes)).nodes == ("a",)
    assert placed(place(Request(res(1)), nodes)).ranks[0].gpu_uuids[0].endswith("g0")


def test_cpu_only_work_prefers_nodes_without_free_gpus() -> None:
    nodes = [node("gpu", 8), node("cpu", 0)]
    assert placed(place(Request(res(0, 4, 8)), nodes)).nodes == ("cpu",)


def test_cordoned_unhealthy_nodes_and_faulty_devices_take_nothing() -> None:
    nodes = [
        node("cordoned", 8, cordoned=True),
        node("down", 8, healthy=False),
        node("ok", 4, faulty=(0, 1)),
    ]
    p = placed(place(Request(res(2)), nodes))
    assert p.ranks[0].gpu_uuids == ("ok-g2", "ok-g3")
    r = refused(place(Request(res(3)), nodes))
    assert not r.never  # the cordoned node would hold it once it is back
    assert "no node in the cluster has room now" in r.reason


def test_vgpu_slices_pack_onto_the_same_physical_gpu_first() -> None:
    """V2: three 5 GiB slices on a 44 GiB L40s go to one card, not three."""
    index = PlacementIndex([node("n", 4, model="L40s", vram=44)])
    cards = set()
    for _ in range(3):
        p = placed(index.place(vgpu(1, 5)))
        (s,) = p.ranks[0].slices
        cards.add(s.device_uuid)
        assert s.vram_gib == 5
    assert cards == {"n-g0"}


def test_vgpu_prefers_a_node_that_already_holds_slices() -> None:
    sliced = Node(
        "sliced",
        "c1",
        64_000,
        512 * GIB,
        (Device("s0", "L40s", 44, used_vram_gib=10), Device("s1", "L40s", 44)),
    )
    fresh = node("fresh", 1, model="L40s", vram=44)
    p = placed(place(vgpu(1, 5), [fresh, sliced]))
    assert p.ranks[0].slices[0].device_uuid == "s0"


def test_vgpu_opens_a_new_card_when_the_sliced_one_is_full() -> None:
    index = PlacementIndex([node("n", 2, model="L40s", vram=16)])
    uuids = [placed(index.place(vgpu(1, 8))).ranks[0].slices[0].device_uuid for _ in range(3)]
    assert uuids == ["n-g0", "n-g0", "n-g1"]
    assert isinstance(index.place(vgpu(1, 9)), Unplaceable)  # 8 GiB left on g1 only


def test_vgpu_compute_percent_limits_slices_per_card() -> None:
    index = PlacementIndex([node("n", 1, model="L40s", vram=44)])
    for _ in range(2):
        placed(index.place(vgpu(1, 1, pct=50)))
    assert isinstance(index.place(vgpu(1, 1, pct=50)), Unplaceable)
    granted = placed(index.place(vgpu(1, 1))).ranks[0].slices[0]
    assert granted.compute_percent is None  # VRAM-only slices ignore the compute share


def test_several_slices_of_one_request_share_a_card() -> None:
    p = placed(place(vgpu(2, 5), [node("n", 4, model="L40s", vram=44)]))
    assert [s.device_uuid for s in p.ranks[0].slices] == ["n-g0", "n-g0"]


def test_gang_is_all_or_nothing() -> None:
    index = PlacementIndex([node("a", 8), node("b", 8), node("c", 8, allocated=4)])
    # 3 ranks of 8 cards: only two nodes have 8 free, so nothing is placed...
    r = refused(index.place(Request(res(8), nodes=3)))
    assert "only 2 of 3 ranks fit at once (all or nothing)" in r.reason
    # ...and the failed attempt left every card free for the next request.
    p = placed(index.place(Request(res(8), nodes=2)))
    assert sorted(p.nodes) == ["a", "b"]
    assert [r.rank for r in p.ranks] == [0, 1]


def test_gang_ranks_may_share_a_node_unless_distinct_nodes() -> None:
    nodes = [node("one", 8)]
    assert placed(place(Request(res(2), nodes=2), nodes)).nodes == ("one", "one")
    r = refused(place(Request(res(2), nodes=2, distinct_nodes=True), nodes))
    assert r.never and "never fits" in r.reason


def test_request_larger_than_any_node() -> None:
    r = refused(place(Request(res(16, 8)), [node("a", 8), node("b", 8)], "c1"))
    assert r.never
    assert r.reason == (
        "request larger than any node in cluster 'c1': one node needs 16 GPUs, 8 CPU cores; "
        "the largest nodes offer 8 GPUs, 64 CPU cores, 512 GiB memory"
    )


def test_busy_cluster_reason_says_what_is_free() -> None:
    r = refused(place(Request(res(4, 8)), [node("a", 8, allocated=6)], "c1"))
    assert not r.never
    assert r.reason == (
        "no node in cluster 'c1' has room now for 4 GPUs, 8 CPU cores; the most free on one "
        "node: 2 GPUs, 64 CPU cores, 512 GiB memory"
    )


def test_input_nodes_are_not_changed() -> None:
    nodes = [node("a", 2)]
    before = list(nodes)
    index = PlacementIndex(nodes)
    placed(index.place(Request(res(2))))
    assert nodes == before and not any(d.allocated for d in nodes[0].devices)


# -- inside a scheduling cycle ------------------------------------------------------------------


def test_schedule_attaches_placements_and_consumes_nodes() -> None:
    snap = Snapshot(
        quotas=(quota("a", 16),),
        pending=(job("j1", "a", 8, t=1), job("j2", "a", 8, t=2)),
    )
    d = {x.workload_id: x for x in schedule(snap, [node("n1", 8), node("n2", 8)])}
    assert d["j1"].placement is not None and d["j2"].placement is not None
    assert {d["j1"].placement.nodes, d["j2"].placement.nodes} == {("n1",), ("n2",)}
    assert d["j1"].message == "admitted to quota 'a' on n1"


def test_quota_room_but_no_node_room_blocks_the_queue() -> None:
    snap = Snapshot(
        quotas=(quota("a", 16),),
        pending=(job("big", "a", 8, t=1), job("small", "a", 1, t=2)),
    )
    d = {x.workload_id: x for x in schedule(snap, [node("n", 8, allocated=4)])}
    assert d["big"].code is Code.NO_NODE
    assert d["big"].message.startswith("waiting: quota 'a' has room but no node in cluster 'c1'")
    assert d["small"].code is Code.BEHIND_HEAD


def test_larger_than_any_node_is_rejected_and_does_not_block() -> None:
    snap = Snapshot(
        quotas=(quota("a", 64),),
        pending=(job("huge", "a", 16, t=1), job("ok", "a", 1, t=2)),
    )
    d = {x.workload_id: x for x in schedule(snap, [node("n", 8)])}
    assert d["huge"].verdict is Verdict.REJECT and d["huge"].code is Code.NEVER_FITS
    assert "request larger than any node" in d["huge"].message
    assert d["ok"].verdict is Verdict.ADMIT


def test_cluster_without_nodes_waits_instead_of_rejecting() -> None:
    snap = Snapshot(quotas=(quota("a", 8),), pending=(job("j", "a", 1),))
    (d,) = schedule(snap, [])
    assert d.code is Code.NO_NODE and "has no nodes yet" in d.message


def test_vgpu_workload_draws_a_card_fraction_from_its_quota() -> None:
    snap = Snapshot(
        quotas=(quota("a", 1, cpu=64, mem=64, model="L40s"),),
        pending=tuple(vjob(f"v{i}", "a", count=2, vram=5, phys=44, t=i) for i in range(5)),
    )
    out = {x.workload_id: x for x in schedule(snap, [node("n", 1, model="L40s", vram=44)])}
    # each takes ceil(2 × 5/44 × 1000) = 228 milli-cards: four fit in one card, the fifth waits
    assert [out[f"v{i}"].verdict for i in range(5)] == [Verdict.ADMIT] * 4 + [Verdict.WAIT]
    assert (
        out["v4"].message == "waiting: head of quota 'a' needs 0.23 GPUs, 0.09 free, borrowing off"
    )


def test_vgpu_slice_larger_than_any_card_never_fits() -> None:
    r = refused(place(vgpu(1, 20), [node("n", 2, model="L40s", vram=16)], "c1"))
    assert r.never
    assert r.reason.startswith("request larger than any node in cluster 'c1'")
    assert "2 L40s GPUs of 16 GiB" in r.reason


def test_gang_larger_than_the_cluster_never_fits() -> None:
    r = refused(place(Request(res(8), nodes=3), [node("a", 8), node("b", 8)], "c1"))
    assert r.never
    assert r.reason == (
        "request larger than cluster 'c1': a gang of 3 nodes × (8 GPUs) never fits; only 2 "
        "ranks fit even with every node empty"
    )
