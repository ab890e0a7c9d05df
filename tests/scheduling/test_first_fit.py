"""Placement strategies: ``"best_fit"`` (the default) against ``"first_fit"``."""

from __future__ import annotations

import random

import pytest

from hangar.scheduling import (
    PLACEMENTS,
    Device,
    Inventory,
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


def vgpu(count: int, vram: int, model: str = "L40s") -> Request:
    return Request(Resources.of(cpu=count, mem_gib=count), 1, VgpuDemand(model, count, vram))


def sliced(name: str, used: tuple[int, ...]) -> Node:
    """An L40s node (44 GiB cards) whose cards hold ``used`` GiB of slices each."""
    devices = tuple(Device(f"{name}-g{i}", "L40s", 44, used_vram_gib=u) for i, u in enumerate(used))
    return Node(name, "c1", 64_000, 512 * 2**30, devices)


def test_the_strategies_and_the_default() -> None:
    assert PLACEMENTS == ("best_fit", "first_fit")
    assert PlacementIndex([]).strategy == "best_fit"
    assert Inventory([]).strategy == "best_fit"


def test_an_unknown_strategy_is_refused() -> None:
    with pytest.raises(ValueError, match="the strategies are best_fit, first_fit"):
        Inventory([], strategy="worst_fit")
    with pytest.raises(ValueError, match="'worst_fit' is unknown"):
        schedule(Snapshot(), [], placement="worst_fit")


def test_whole_gpus_first_fit_takes_the_first_node_by_name_best_fit_the_tightest() -> None:
    nodes = [node("c-tight", 8, allocated=6), node("b-half", 8, allocated=4), node("a-roomy", 8)]
    request = Request(res(2, 4, 16))
    assert placed(place(request, nodes)).ranks[0].node == "c-tight"
    rank = placed(place(request, nodes, strategy="first_fit")).ranks[0]
    assert rank.node == "a-roomy"
    assert rank.gpu_uuids == ("a-roomy-g0", "a-roomy-g1")  # cards in index order


def test_first_fit_skips_nodes_without_room() -> None:
    nodes = [
        node("a-full", 8, allocated=7),
        node("b-cordoned", 8, cordoned=True),
        node("c-small-cpu", 8, cpu=2),
        node("d-ok", 8),
    ]
    assert placed(place(Request(res(2, 4)), nodes, strategy="first_fit")).ranks[0].node == "d-ok"


def test_cpu_only_work_first_fit_ignores_the_gpu_preference() -> None:
    nodes = [node("a-gpu", 8), node("z-cpu", 0)]
    request = Request(res(0, 4, 8))
    assert placed(place(request, nodes)).ranks[0].node == "z-cpu"
    assert placed(place(request, nodes, strategy="first_fit")).ranks[0].node == "a-gpu"


def test_no_model_named_first_fit_takes_the_first_model_by_name_with_room() -> None:
    mixed = Node(
        "a-mixed",
        "c1",
        64_000,
        512 * 2**30,
        (Device("x0", "L40s", 44), Device("x1", "H800", 80), Device("x2", "H800", 80)),
    )
    p = placed(place(Request(res(2, 1)), [node("b-h800", 8), mixed], strategy="first_fit"))
    assert p.ranks[0].node == "a-mixed" and p.ranks[0].gpu_uuids == ("x1", "x2")


def test_vgpu_best_fit_packs_first_fit_takes_the_first_card_with_room() -> None:
    n = sliced("n", (0, 10, 0))
    best = placed(place(vgpu(1, 5), [n])).ranks[0].slices[0]
    first = placed(place(vgpu(1, 5), [n], strategy="first_fit")).ranks[0].slices[0]
    assert best.device_uuid == "n-g1"  # packs onto the card that already holds slices
    assert first.device_uuid == "n-g0"


def test_vgpu_node_choice_differs_too() -> None:
    nodes = [sliced("a-fresh", (0, 0)), sliced("b-sliced", (10, 0))]
    assert placed(place(vgpu(1, 5), nodes)).ranks[0].node == "b-sliced"
    assert placed(place(vgpu(1, 5), nodes, strategy="first_fit")).ranks[0].node == "a-fresh"


def test_vgpu_first_fit_fills_cards_in_index_order_within_one_request() -> None:
    p = placed(place(vgpu(3, 20), [sliced("n", (30, 0, 0))], strategy="first_fit"))
    # card 0 has 14 GiB left (no room), card 1 takes two 20 GiB slices, card 2 the third
    assert [s.device_uuid for s in p.ranks[0].slices] == ["n-g1", "n-g1", "n-g2"]


def test_first_fit_gang_on_distinct_nodes_in_name_order() -> None:
    nodes = [node("c", 8), node("a", 8), node("b", 8, allocated=7)]
    request = Request(res(2, 1), nodes=2, distinct_nodes=True)
    assert placed(place(request, nodes, strategy="first_fit")).nodes == ("a", "c")
    assert placed(place(request, nodes)).nodes == ("a", "c")  # b has no room for 2


def test_schedule_with_first_fit_consumes_capacity_in_the_cycle() -> None:
    nodes = [node("n2", 8, allocated=6), node("n1", 8)]
    snap = Snapshot(
        quotas=(quota("a", 16),),
        pending=(job("j1", "a", 2, t=1), job("j2", "a", 6, t=2), job("j3", "a", 2, t=3)),
    )
    best = {d.workload_id: d for d in schedule(snap, nodes)}
    first = {d.workload_id: d for d in schedule(snap, nodes, placement="first_fit")}
    assert best["j1"].placement and best["j1"].placement.nodes == ("n2",)
    assert {d.verdict for d in first.values()} == {Verdict.ADMIT}
    nodes_of = {w: first[w].placement.nodes for w in first if first[w].placement}
    assert nodes_of == {"j1": ("n1",), "j2": ("n1",), "j3": ("n2",)}


def test_schedule_vgpu_with_first_fit() -> None:
    snap = Snapshot(
        quotas=(quota("v", 4, cpu=64, mem=512, model="L40s"),),
        pending=(vjob("v1", "v", count=1, vram=5, phys=44),),
    )
    nodes = [sliced("a", (0, 0)), sliced("b", (20, 0))]
    (best,) = schedule(snap, nodes)
    (first,) = schedule(snap, nodes, placement="first_fit")
    assert best.placement and best.placement.nodes == ("b",)
    assert first.placement and first.placement.ranks[0].slices[0].device_uuid == "a-g0"


@pytest.mark.parametrize("strategy", PLACEMENTS)
def test_a_failed_request_is_answered_the_same_until_capacity_changes(strategy: str) -> None:
    index = PlacementIndex([node("n1", 8, allocated=5), node("n2", 8, allocated=6)], "c1",
                           strategy=strategy)  # fmt: skip
    big = Request(res(4, 1))
    first = index.place(big)
    assert isinstance(first, Unplaceable) and not first.never
    assert "the most free on one node: 3 GPUs" in first.reason
    assert index.place(big) == first
    placed(index.place(Request(res(2, 1))))  # a grant: the reason is worked out again
    again = index.place(big)
    assert isinstance(again, Unplaceable)
    most = "3 GPUs" if strategy == "best_fit" else "2 GPUs"
    assert f"the most free on one node: {most}" in again.reason


@pytest.mark.parametrize("strategy", PLACEMENTS)
@pytest.mark.parametrize("seed", range(4))
def test_remembered_scans_and_failures_never_change_an_answer(strategy: str, seed: int) -> None:
    """The speed-ups (first-fit scan starts, failed one-rank requests answered from memory)
    give the answers of a full search, through grants, failures and failed gangs that give
    capacity back."""
    rng = random.Random(seed)
    nodes = [
        node(f"n{i:02}", 8, cpu=rng.choice((8, 32, 64)), allocated=rng.randrange(9))
        for i in range(30)
    ] + [sliced(f"v{i:02}", tuple(rng.choice((0, 0, 10, 30)) for _ in range(4))) for i in range(10)]
    shapes = [Request(res(rng.choice((0, 1, 2, 4, 8)), rng.choice((1, 4, 16))),
                      rng.choice((1, 1, 1, 2, 3)), distinct_nodes=rng.random() < 0.3)
              for _ in range(12)]  # fmt: skip
    shapes += [vgpu(rng.choice((1, 2, 3)), rng.choice((5, 10, 20))) for _ in range(4)]
    remembered = PlacementIndex(nodes, "c1", strategy=strategy)
    fresh = PlacementIndex(nodes, "c1", strategy=strategy)
    for _ in range(150):
        request = rng.choice(shapes)
        fresh._starts.clear()  # always scan from the first node
        fresh._failed.clear()  # always search
        assert remembered.place(request) == fresh.place(request)
