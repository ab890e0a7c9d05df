"""Placement: map an admitted request onto nodes and devices (spec 02 §8.5, §9 V2).

Rules, in order of precedence (the default ``"best_fit"`` strategy):

- Cordoned or unhealthy nodes and faulty devices take nothing (spec 02 §2, §8.6).
- Whole GPUs: best fit by free card count (the node with the fewest free cards of the model
  that still has enough), so that large requests keep finding whole nodes; devices are taken
  in index order.
- Virtual GPU slices: nodes that already host slices with room first, then nodes by fewest
  free whole cards; on the node each slice goes to the card with the least spare VRAM that
  holds it, so slices pack onto the same physical GPU first (V2).
- CPU-only requests: nodes with the fewest free GPUs first (CPU-only nodes, then full GPU
  nodes), so GPU nodes keep their CPU for GPU work.
- Gangs (``nodes`` > 1): every rank is placed or none is (all or nothing).
- Ties break by node order (name order at build time), so equal inputs give equal outputs.

The ``"first_fit"`` strategy keeps the first and the last two rules but takes the first node
in name order that has room (any request kind), and on it the first cards in index order with
room (no packing preference for slices). ``PLACEMENTS`` lists the strategies.

``PlacementIndex`` is a working copy built once per scheduling cycle: each placement it grants
consumes capacity, so later requests in the same cycle see it. The input ``Node`` values are
never changed. The values it takes and gives (``Node``, ``Device``, ``Placement``...) are in
``placement_types``.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Iterator

from hangar.scheduling.model import Request, VgpuDemand
from hangar.scheduling.placement_types import (
    BEST_FIT,
    FIRST_FIT,
    PLACEMENTS,
    Device,
    Node,
    Placement,
    RankPlacement,
    SliceGrant,
    Unplaceable,
    check_strategy,
    ranks_on_empty,
)
from hangar.scheduling.resources import Resources, fmt_cpu, fmt_mem


class _Dev:
    __slots__ = ("model", "pos", "used_compute", "used_vram", "uuid", "vram", "whole")

    def __init__(self, d: Device, pos: int) -> None:
        self.uuid, self.model, self.vram, self.pos = d.uuid, d.model, d.vram_gib, pos
        self.whole = d.allocated
        self.used_vram = d.used_vram_gib
        self.used_compute = d.used_compute_percent

    def is_free(self) -> bool:
        return not self.whole and self.used_vram == 0 and self.used_compute == 0

    def slots(self, vram: int, pct: int | None) -> int:
        if self.whole:
            return 0
        n = (self.vram - self.used_vram) // vram
        if pct is not None:
            n = min(n, (100 - self.used_compute) // pct)
        return max(0, n)


class _Node:
    __slots__ = ("cpu", "devs", "free", "idx", "mem", "models", "name", "spare")

    def __init__(self, idx: int, n: Node) -> None:
        self.idx, self.name = idx, n.name
        self.cpu = n.cpu_millicores - n.cpu_used_millicores
        self.mem = n.mem_bytes - n.mem_used_bytes
        self.devs: dict[str, list[_Dev]] = {}
        self.free: dict[str, list[_Dev]] = {}  # free whole cards per model, in device order
        # per model, over cards that hold slices and have VRAM left: (most spare VRAM, most
        # spare compute %); a quick test before counting slots card by card. VRAM-only slices
        # (no compute %) ignore the compute share (B8).
        self.spare: dict[str, tuple[int, int]] = {}
        for pos, d in enumerate(n.devices):
            if d.faulty:
                continue
            dev = _Dev(d, pos)
            self.devs.setdefault(d.model, []).append(dev)
            if dev.is_free():
                self.free.setdefault(d.model, []).append(dev)
        self.models = sorted(self.devs)  # card models by name (first fit, no model named)

    def free_count(self) -> int:
        return sum(len(v) for v in self.free.values())

    def update_spare(self, model: str) -> bool:
        """Refresh ``spare[model]``; True when some sliced card of ``model`` has room."""
        vram = pct = 0
        for d in self.devs.get(model, ()):
            if not d.whole and 0 < d.used_vram < d.vram:
                vram = max(vram, d.vram - d.used_vram)
                pct = max(pct, 100 - d.used_compute)
        if vram:
            self.spare[model] = (vram, pct)
            return True
        self.spare.pop(model, None)
        return False


class _Bucket:
    """Node positions in ascending order: ties break by node order (names) however nodes
    moved between buckets before, so an index kept across cycles iterates as a fresh one."""

    __slots__ = ("_items",)

    def __init__(self) -> None:
        self._items: list[int] = []

    def add(self, idx: int) -> None:
        at = bisect_left(self._items, idx)
        if at == len(self._items) or self._items[at] != idx:
            self._items.insert(at, idx)

    def discard(self, idx: int) -> None:
        at = bisect_left(self._items, idx)
        if at < len(self._items) and self._items[at] == idx:
            del self._items[at]

    def __iter__(self) -> Iterator[int]:
        return iter(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)


# (node, cpu, mem, card model or None, whole cards, slices as (card, vram, compute %))
_Grant = tuple[_Node, int, int, str | None, list[_Dev], list[tuple[_Dev, int, int]]]


class PlacementIndex:
    """Mutable working copy of one cluster's nodes for one cycle (see the module notes)."""

    def __init__(
        self, nodes: Iterable[Node], cluster: str = "", *, strategy: str = BEST_FIT
    ) -> None:
        self.cluster = cluster
        self.strategy = check_strategy(strategy)
        self._first_fit = strategy == FIRST_FIT
        self._all = tuple(nodes)
        ready = sorted((n for n in self._all if n.healthy and not n.cordoned), key=_by_name)
        self._nodes = [_Node(i, n) for i, n in enumerate(ready)]
        width = 1 + max((len(n.devices) for n in self._all), default=0)
        self._by_model: dict[str, list[_Bucket]] = {}
        self._any: list[_Bucket] = [_Bucket() for _ in range(width)]
        self._sliced: dict[str, _Bucket] = {}
        self._never: dict[Request, str | None] = {}
        # Capacity only shrinks within a cycle (a failed gang gives back exactly what it took),
        # so a one-rank request that found no room finds none again until the next grant:
        # ``_failed`` remembers the answer per request with the grant count it was given at.
        self._grants = 0
        self._starts: dict[tuple[Resources, VgpuDemand | None], int] = {}  # first fit
        self._failed: dict[Request, tuple[int, Unplaceable]] = {}
        for node in self._nodes:
            self._any[node.free_count()].add(node.idx)
            for model in node.devs:
                buckets = self._by_model.setdefault(model, [_Bucket() for _ in range(width)])
                buckets[len(node.free.get(model, ()))].add(node.idx)
                if node.update_spare(model):
                    self._sliced.setdefault(model, _Bucket()).add(node.idx)
        self._models = sorted(self._by_model)
        # Distinct node shapes with their counts: "never fits" looks at shapes, not nodes.
        shapes: dict[tuple[int, int, tuple[tuple[str, int], ...]], list[Node]] = {}
        for n in self._all:
            devs = tuple(sorted((d.model, d.vram_gib) for d in n.devices))
            shapes.setdefault((n.cpu_millicores, n.mem_bytes, devs), []).append(n)
        self._shapes = [(group[0], len(group)) for group in shapes.values()]

    # -- public -------------------------------------------------------------------------

    def place(self, request: Request) -> Placement | Unplaceable:
        """Place every rank or none; a successful placement consumes capacity."""
        single = request.nodes == 1
        if single:
            failed = self._failed.get(request)
            if failed is not None and failed[0] == self._grants:
                return failed[1]
        grants: list[_Grant] = []
        used: set[int] = set()
        for _rank in range(request.nodes):
            found = self._find(request, used)
            if found is None:
                for grant in reversed(grants):
                    self._release(grant)
                out = self._unplaceable(request, placed=len(grants))
                if single:
                    self._failed[request] = (self._grants, out)
                return out
            node, model = found
            grants.append(self._grant(node, model, request))
            if request.distinct_nodes:
                used.add(node.idx)
        self._grants += 1
        return Placement(tuple(self._rank(i, g) for i, g in enumerate(grants)))

    def release(self, placement: Placement) -> None:
        """Give back what ``placement`` (granted by this index) holds: for an index kept
        across cycles (the simulator's), when the workload ends."""
        by_name = {node.name: node for node in self._nodes}
        for rank in placement.ranks:
            node = by_name[rank.node]
            devs = {d.uuid: d for group in node.devs.values() for d in group}
            whole = [devs[uuid] for uuid in rank.gpu_uuids]
            slices = [(devs[s.device_uuid], s.vram_gib, s.compute_percent or 0)
                      for s in rank.slices]  # fmt: skip
            model = whole[0].model if whole else slices[0][0].model if slices else None
            self._release((node, rank.cpu_millicores, rank.mem_bytes, model, whole, slices))
        self._failed.clear()  # capacity came back: remembered misses may fit now

    def never_fits(self, request: Request) -> str | None:
        """Why ``request`` cannot fit even on the empty cluster (all nodes, any state)."""
        if request in self._never:
            return self._never[request]
        reason = self._never_reason(request)
        self._never[request] = reason
        return reason

    # -- search -------------------------------------------------------------------------

    def _find(self, request: Request, exclude: set[int]) -> tuple[_Node, str | None] | None:
        """The node for one rank, and the card model it draws from (None: no cards)."""
        per = request.per_node
        if self._first_fit:
            return self._find_first(request, exclude)
        if request.vgpu is not None:
            node = self._find_vgpu(per, request.vgpu, exclude)
            return (node, request.vgpu.model) if node else None
        if per.gpus == 0:
            hit = self._scan(self._any, 0, per, exclude)
            return (hit[1], None) if hit else None
        best: tuple[int, _Node, str] | None = None
        for model in [per.gpu_model] if per.gpu_model else self._models:
            buckets = self._by_model.get(model)
            if buckets is None:
                continue
            hit = self._scan(buckets, per.gpus, per, exclude, stop=best[0] if best else None)
            if hit is not None:
                best = (hit[0], hit[1], model)
        return (best[1], best[2]) if best else None

    def _scan(
        self,
        buckets: list[_Bucket],
        low: int,
        per: Resources,
        exclude: set[int],
        stop: int | None = None,
    ) -> tuple[int, _Node] | None:
        nodes, cpu, mem = self._nodes, per.cpu_millicores, per.mem_bytes
        for k in range(low, stop if stop is not None else len(buckets)):
            for idx in buckets[k]:
                node = nodes[idx]
                if node.cpu >= cpu and node.mem >= mem and idx not in exclude:
                    return k, node
        return None

    def _find_first(self, request: Request, exclude: set[int]) -> tuple[_Node, str | None] | None:
        """First fit: the first node in name order with room, in a linear scan.

        The scan for a rank shape starts where the last one found room: the nodes before it
        had none, and capacity only shrinks until a failed gang gives some back (``_release``
        forgets the starts). A node skipped as excluded may have room: the start stops there.
        """
        per, v = request.per_node, request.vgpu
        cpu, mem, gpus, model = per.cpu_millicores, per.mem_bytes, per.gpus, per.gpu_model
        key = (per, v)
        nodes = self._nodes
        hint: int | None = None
        found: tuple[_Node, str | None] | None = None
        i = self._starts.get(key, 0)
        while i < len(nodes) and found is None:
            node = nodes[i]
            i += 1
            if node.idx in exclude:
                hint = node.idx if hint is None else hint
            elif node.cpu < cpu or node.mem < mem:
                continue
            elif v is not None:
                if v.model in node.devs and _room(node, v):
                    found = node, v.model
            elif gpus == 0:
                found = node, None
            elif model is not None:
                if len(node.free.get(model, ())) >= gpus:
                    found = node, model
            else:
                for name in node.models:
                    if len(node.free.get(name, ())) >= gpus:
                        found = node, name
                        break
        if hint is None:
            hint = found[0].idx if found is not None else len(nodes)
        self._starts[key] = hint
        return found

    def _find_vgpu(self, per: Resources, v: VgpuDemand, exclude: set[int]) -> _Node | None:
        cpu, mem, vram, pct = per.cpu_millicores, per.mem_bytes, v.vram_gib, v.compute_percent
        nodes = self._nodes
        for idx in self._sliced.get(v.model, ()):  # pack onto cards that already hold slices
            node = nodes[idx]
            best_vram, best_pct = node.spare[v.model]
            if best_vram < vram or (pct is not None and best_pct < pct):
                continue
            if node.cpu >= cpu and node.mem >= mem and idx not in exclude and _room(node, v):
                return node
        for k, bucket in enumerate(self._by_model.get(v.model, [])):
            if k == 0:
                continue
            for idx in bucket:
                node = nodes[idx]
                if node.cpu >= cpu and node.mem >= mem and idx not in exclude and _room(node, v):
                    return node
        return None

    # -- grant / release ----------------------------------------------------------------

    def _grant(self, node: _Node, model: str | None, request: Request) -> _Grant:
        per = request.per_node
        node.cpu -= per.cpu_millicores
        node.mem -= per.mem_bytes
        whole: list[_Dev] = []
        slices: list[tuple[_Dev, int, int]] = []
        if model is None:
            return node, per.cpu_millicores, per.mem_bytes, None, whole, slices
        before, old = node.free_count(), len(node.free.get(model, ()))
        if request.vgpu is not None:
            v = request.vgpu
            pct = v.compute_percent
            for _ in range(v.count):
                # Best fit: the card with the least spare VRAM that still holds the slice, so
                # slices pack onto cards already sliced before a fresh card is opened (V2).
                # First fit: the first card in index order that holds it.
                dev = min(
                    (d for d in node.devs[model] if d.slots(v.vram_gib, pct) > 0),
                    key=_by_pos if self._first_fit else _spare_then_pos,
                )
                if dev.is_free():
                    node.free[model].remove(dev)
                dev.used_vram += v.vram_gib
                dev.used_compute += pct or 0
                slices.append((dev, v.vram_gib, pct or 0))
        else:
            free = node.free[model]
            whole, node.free[model] = free[: per.gpus], free[per.gpus :]
            for dev in whole:
                dev.whole = True
        self._moved(node, model, old, before)
        return node, per.cpu_millicores, per.mem_bytes, model, whole, slices

    def _release(self, grant: _Grant) -> None:
        node, cpu, mem, model, whole, slices = grant
        self._starts.clear()  # capacity comes back: first-fit scans start over
        node.cpu += cpu
        node.mem += mem
        if model is None:
            return
        before, old = node.free_count(), len(node.free.get(model, ()))
        free = node.free.setdefault(model, [])
        for dev in whole:
            dev.whole = False
            insort(free, dev, key=_by_pos)
        for dev, vram, pct in slices:
            dev.used_vram -= vram
            dev.used_compute -= pct
            if dev.is_free() and dev not in free:
                insort(free, dev, key=_by_pos)
        self._moved(node, model, old, before)

    def _moved(self, node: _Node, model: str, old: int, before_total: int) -> None:
        new = len(node.free.get(model, ()))
        buckets = self._by_model[model]
        if new != old:
            buckets[old].discard(node.idx)
            buckets[new].add(node.idx)
        after_total = node.free_count()
        if after_total != before_total:
            self._any[before_total].discard(node.idx)
            self._any[after_total].add(node.idx)
        sliced = self._sliced.setdefault(model, _Bucket())
        if node.update_spare(model):
            sliced.add(node.idx)
        else:
            sliced.discard(node.idx)

    @staticmethod
    def _rank(i: int, grant: _Grant) -> RankPlacement:
        node, cpu, mem, _model, whole, slices = grant
        return RankPlacement(
            rank=i,
            node=node.name,
            cpu_millicores=cpu,
            mem_bytes=mem,
            gpu_uuids=tuple(d.uuid for d in whole),
            slices=tuple(SliceGrant(d.uuid, vram, pct or None) for d, vram, pct in slices),
        )

    # -- reasons ------------------------------------------------------------------------

    def _where(self) -> str:
        return f"cluster '{self.cluster}'" if self.cluster else "the cluster"

    def _unplaceable(self, request: Request, placed: int) -> Unplaceable:
        if not self._all:
            return Unplaceable(f"{self._where()} has no nodes yet")
        never = self.never_fits(request)
        if never is not None:
            return Unplaceable(never, never=True)
        if not self._nodes:
            return Unplaceable(
                f"no schedulable node in {self._where()} (all cordoned or unhealthy)"
            )
        one = _rank_text(request)
        if request.nodes > 1:
            return Unplaceable(
                f"no room now in {self._where()} for a gang of {request.nodes} nodes × ({one}): "
                f"only {placed} of {request.nodes} ranks fit at once (all or nothing)"
            )
        return Unplaceable(
            f"no node in {self._where()} has room now for {one}; "
            f"the most free on one node: {self._most_free(request)}"
        )

    def _most_free(self, request: Request) -> str:
        cpu = max(n.cpu for n in self._nodes)
        mem = max(n.mem for n in self._nodes)
        parts = [fmt_cpu(max(0, cpu)), fmt_mem(max(0, mem))]
        if request.vgpu is not None:
            v = request.vgpu
            slots = max(
                sum(d.slots(v.vram_gib, v.compute_percent) for d in n.devs.get(v.model, ()))
                for n in self._nodes
            )
            parts.insert(0, f"{slots} × {v.vram_gib} GiB {v.model} slices")
        elif request.per_node.gpus:
            model = request.per_node.gpu_model
            # The most free cards on one node: the highest non-empty bucket.
            buckets = self._any if model is None else self._by_model.get(model, [])
            cards = max((k for k, bucket in enumerate(buckets) if bucket), default=0)
            parts.insert(0, f"{cards} {model + ' ' if model else ''}GPUs")
        return ", ".join(parts)

    def _never_reason(self, request: Request) -> str | None:
        if not self._all:
            return None  # nodes may still be discovered: wait, do not reject
        fits = [(ranks_on_empty(n, request), count) for n, count in self._shapes]
        total = sum((min(1, f) if request.distinct_nodes else f) * c for f, c in fits)
        if total >= request.nodes:
            return None
        if max(f for f, _ in fits) == 0:
            return (
                f"request larger than any node in {self._where()}: one node needs "
                f"{_rank_text(request)}; the largest nodes offer {self._largest(request)}"
            )
        where = "distinct nodes" if request.distinct_nodes else "nodes"
        return (
            f"request larger than {self._where()}: a gang of {request.nodes} {where} × "
            f"({_rank_text(request)}) never fits; only {total} "
            f"{'rank fits' if total == 1 else 'ranks fit'} even with every node empty"
        )

    def _largest(self, request: Request) -> str:
        per = request.per_node
        parts = [
            fmt_cpu(max(n.cpu_millicores for n in self._all)),
            fmt_mem(max(n.mem_bytes for n in self._all)),
        ]
        model = request.vgpu.model if request.vgpu else per.gpu_model
        if request.vgpu is not None or per.gpus:
            cards = max(
                sum(1 for d in n.devices if model is None or d.model == model) for n in self._all
            )
            text = f"{cards} {model + ' ' if model else ''}GPUs"
            if request.vgpu is not None:
                vram = max((d.vram_gib for n in self._all for d in n.devices if d.model == model),
                           default=0)  # fmt: skip
                text += f" of {vram} GiB"
            parts.insert(0, text)
        return ", ".join(parts)


def _room(node: _Node, v: VgpuDemand) -> bool:
    """Whether ``node``'s ``v.model`` cards hold ``v.count`` more slices."""
    slots = 0
    for d in node.devs[v.model]:
        slots += d.slots(v.vram_gib, v.compute_percent)
        if slots >= v.count:
            return True
    return False


def _by_name(n: Node) -> str:
    return n.name


def _by_pos(d: _Dev) -> int:
    return d.pos


def _spare_then_pos(d: _Dev) -> tuple[int, int]:
    return d.vram - d.used_vram, d.pos


def _rank_text(request: Request) -> str:
    one = request.per_node.describe()
    if request.vgpu is not None:
        v = request.vgpu
        cpu_mem = Resources(request.per_node.cpu_millicores, request.per_node.mem_bytes)
        one = f"{v.count} × {v.vram_gib} GiB {v.model} vGPU, {cpu_mem.describe()}"
    return one


def place(
    request: Request, nodes: Iterable[Node], cluster: str = "", *, strategy: str = BEST_FIT
) -> Placement | Unplaceable:
    """Place one request on ``nodes`` (one cluster's). Pure: the nodes are not changed."""
    return PlacementIndex(nodes, cluster, strategy=strategy).place(request)


class Inventory:
    """Placement across clusters for one cycle: one ``PlacementIndex`` per cluster, built on
    first use. This is what admission calls to place what it admits. ``strategy`` is one of
    ``PLACEMENTS`` (``"best_fit"`` by default).

    The live loop builds one per cycle from the nodes' current state. A replay may keep one
    across cycles instead — grants stay granted, :meth:`release` gives a finished workload's
    back — which decides exactly as a fresh one built from the same state would, without
    rebuilding every node each cycle."""

    def __init__(self, nodes: Iterable[Node], *, strategy: str = BEST_FIT) -> None:
        self.strategy = check_strategy(strategy)
        self._nodes: dict[str, list[Node]] = {}
        for node in nodes:
            self._nodes.setdefault(node.cluster_id, []).append(node)
        self._indexes: dict[str, PlacementIndex] = {}

    def index(self, cluster_id: str) -> PlacementIndex:
        found = self._indexes.get(cluster_id)
        if found is None:
            found = PlacementIndex(
                self._nodes.get(cluster_id, ()), cluster_id, strategy=self.strategy
            )
            self._indexes[cluster_id] = found
        return found

    def place(self, cluster_id: str, request: Request) -> Placement | Unplaceable:
        return self.index(cluster_id).place(request)

    def never_fits(self, cluster_id: str, request: Request) -> str | None:
        return self.index(cluster_id).never_fits(request)

    def release(self, cluster_id: str, placement: Placement) -> None:
        """Give back a placement this inventory granted (see ``PlacementIndex.release``)."""
        self.index(cluster_id).release(placement)


__all__ = [
    "BEST_FIT",
    "FIRST_FIT",
    "PLACEMENTS",
    "Device",
    "Inventory",
    "Node",
    "Placement",
    "PlacementIndex",
    "RankPlacement",
    "SliceGrant",
    "Unplaceable",
    "check_strategy",
    "place",
]
