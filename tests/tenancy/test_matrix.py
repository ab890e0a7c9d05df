"""The 82-row permission matrix of spec 01 §5, one test per row per column, over real HTTP.

Every answer comes from ``POST /api/v1/workspaces/{id}/access-review`` asked by a real user
holding a real role in a real workspace. The expected cells are NOT read from the code's
table: they are written below from the spec's own words (§5.1 observations, decision A6), and
``test_table_*`` checks that the code's table says the same thing, row by row.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from hangar.tenancy.matrix import BY_KEY, POINTS, Effect, Point
from tests.support import Api, Hangar, assert_error, sqlite_hangar

# --- the spec, restated independently of hangar.tenancy.matrix ------------------------------
ADMIN_ONLY = {1, 3, 4, 5, 6}  # §5.1: workspace management is admin-only ...
EVERY_ROLE = {2}  # ... except listing the workspace's users
CREATION = {56, 63, 70}  # the "n/a (无)" cells: code import, training create, dev env create
# §5.1: an operator may act on others' training jobs and dev environments (start, stop,
# delete, list, details) and see common events, logs and monitoring; nothing else.
OPERATOR_ON_OTHERS = {2, *range(65, 70), *range(71, 76), 79, 80, 81}
SHARED_READ = {9, 15, 22, 27}  # A6: datasets shared with a developer may be read (via ACL)


def spec_cell(number: int, column: str) -> bool:
    """The spec's answer for one cell of the generated tests."""
    if column.startswith("A_"):
        return True
    own = number not in ADMIN_ONLY
    if column in ("D_own", "O_own"):
        return own
    # On others' data. Creation rows ("n/a") and rows 1-6, which act on the workspace itself,
    # have no owner to be "other": they answer as the role's own column.
    if number in CREATION or number <= 6:
        return own
    if column == "O_others":
        return number in OPERATOR_ON_OTHERS
    return False  # D_others, decision A6: deny; shared datasets are granted by their ACL


@dataclass(frozen=True)
class Column:
    user: str  # which prepared user asks
    others: bool  # ask about an object created by someone else


COLUMNS = {
    "A_tenant_admin": Column("t_admin", others=True),
    "A_workspace_admin": Column("ws_admin", others=True),
    "D_own": Column("dev", others=False),
    "O_own": Column("op", others=False),
    "O_others": Column("op", others=True),
    "D_others": Column("dev", others=True),
}


@dataclass
class World:
    hangar: Hangar
    workspace_id: str
    apis: dict[str, Api]
    ids: dict[str, str]
    someone_id: str  # creator of the "others' data"
    _cache: dict[tuple[str, str | None], dict[str, Any]]

    def review(self, user: str, owner_id: str | None) -> dict[str, Any]:
        """One access review per (user, owner), all 82 points at once, cached."""
        key = (user, owner_id)
        if key not in self._cache:
            body: dict[str, Any] = {"points": [p.key for p in POINTS]}
            if owner_id is not None:
                body["owner_id"] = owner_id
            answer = self.apis[user].call(
                "POST", f"/api/v1/workspaces/{self.workspace_id}/access-review", json=body
            )
            assert [d["number"] for d in answer["decisions"]] == list(range(1, 83))
            answer["allowed"] = {d["point"]: d["allowed"] for d in answer["decisions"]}
            self._cache[key] = answer
        return self._cache[key]

    def allowed(self, user: str, point: Point, *, others: bool) -> bool:
        owner = self.someone_id if others else self.ids[user]
        result: bool = self.review(user, owner)["allowed"][point.key]
        return result


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with sqlite_hangar(tmp_path_factory.mktemp("matrix")) as h:
        ws = h.create_workspace("MatrixWs")
        apis: dict[str, Api] = {"owner": h.admin}
        ids: dict[str, str] = {"owner": h.admin.call("GET", "/api/v1/auth/me")["id"]}
        roles = {
            "t_admin": (),  # in the `admin` group: a tenant admin, no workspace role at all
            "ws_admin": ("admin",),
            "dev": ("developer",),
            "op": ("operator",),
            "devop": ("developer", "operator"),
            "outsider": (),
        }
        for name, held in roles.items():
            groups = ("admin",) if name == "t_admin" else ()
            user, api = h.user_api(name, groups=groups)
            apis[name], ids[name] = api, user["id"]
            if held:
                h.add_member(ws["id"], user["id"], *held)
        someone = h.create_user("someone")
        h.add_member(ws["id"], someone["id"], "developer")
        yield World(h, ws["id"], apis, ids, someone["id"], {})


def _cells() -> list[Any]:
    return [
        pytest.param(point, column, id=f"row{point.number:02d}-{point.key}-{column}")
        for point in POINTS
        for column in COLUMNS
    ]


@pytest.mark.parametrize(("point", "column"), _cells())
def test_matrix_cell(world: World, point: Point, column: str) -> None:
    spec = COLUMNS[column]
    expected = spec_cell(point.number, column)
    got = world.allowed(spec.user, point, others=spec.others)
    assert got is expected, (
        f"row {point.number} '{point.label}' for {column}: the spec says "
        f"{'Allow' if expected else 'Deny'}, the server answered {'Allow' if got else 'Deny'}"
    )


# --- the roles the server reports, and the union of several roles ---------------------------
@pytest.mark.parametrize(
    ("user", "roles"),
    [
        ("owner", ["admin"]),
        ("t_admin", ["admin"]),
        ("ws_admin", ["admin"]),
        ("dev", ["developer"]),
        ("op", ["operator"]),
        ("devop", ["developer", "operator"]),
    ],
)
def test_review_reports_the_roles_held(world: World, user: str, roles: list[str]) -> None:
    assert world.review(user, None)["roles"] == roles


def test_main_account_is_allowed_everything(world: World) -> None:
    answer = world.review("owner", world.someone_id)["allowed"]
    assert all(answer.values()), [k for k, v in answer.items() if not v]


@pytest.mark.parametrize("others", [False, True], ids=["own", "others"])
def test_developer_plus_operator_gets_the_union(world: World, others: bool) -> None:
    """Spec 01 §6.1: a user holding several roles has the union of their permissions."""
    union = {
        p.key: world.allowed("dev", p, others=others) or world.allowed("op", p, others=others)
        for p in POINTS
    }
    owner = world.someone_id if others else world.ids["devop"]
    assert world.review("devop", owner)["allowed"] == union
    # The union is strictly more than the developer alone on others' data (rows 65-75, 79-81).
    if others:
        gained = {p.number for p in POINTS if union[p.key]} - {
            p.number for p in POINTS if world.allowed("dev", p, others=True)
        }
        assert gained == OPERATOR_ON_OTHERS - EVERY_ROLE


def test_review_without_owner_means_own_objects(world: World) -> None:
    assert world.review("op", None)["allowed"] == world.review("op", world.ids["op"])["allowed"]


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("POST", "/access-review", {"points": ["dataset.view"]}),
        ("GET", "", None),
        ("GET", "/members", None),
        ("PATCH", "", {"description": "x"}),
        ("POST", "/members", {"user_id": "x", "roles": ["developer"]}),
    ],
)
def test_non_member_never_learns_the_workspace_exists(
    world: World, method: str, suffix: str, body: dict[str, Any] | None
) -> None:
    """W8: a user without a role gets the same 404 as for a workspace that does not exist."""
    api = world.apis["outsider"]
    real = api.request(method, f"/api/v1/workspaces/{world.workspace_id}{suffix}", json=body)
    missing = api.request(method, f"/api/v1/workspaces/0000000000000000{suffix}", json=body)
    assert_error(real, 404, "not_found")
    assert_error(missing, 404, "not_found")
    assert real.json()["message"].replace(world.workspace_id, "X") == missing.json()[
        "message"
    ].replace("0000000000000000", "X")
    listed = {w["id"] for w in api.call("GET", "/api/v1/workspaces")}
    assert world.workspace_id not in listed


def test_review_rejects_unknown_points(world: World) -> None:
    response = world.apis["dev"].post(
        f"/api/v1/workspaces/{world.workspace_id}/access-review",
        json={"points": ["dataset.view", "dataset.fly"]},
    )
    body = assert_error(response, 422, "validation_failed")
    assert "points" in body["fields"] and "dataset.fly" in body["message"]


def test_review_is_not_audited(world: World) -> None:
    """The review changes nothing, so it leaves no audit record even though it is a POST."""
    world.review("dev", None)
    records = world.hangar.admin.call("GET", "/api/v1/audit", params={"limit": 500})["items"]
    assert not [r for r in records if r["path"].endswith("/access-review")]


# --- the code's table is the spec's table ----------------------------------------------------
def test_table_has_exactly_82_unique_rows() -> None:
    assert len(POINTS) == 82
    assert [p.number for p in POINTS] == list(range(1, 83))
    assert len({p.key for p in POINTS}) == 82
    assert len({p.source for p in POINTS}) == 82
    assert len({p.label for p in POINTS}) == 82
    assert set(BY_KEY) == {p.key for p in POINTS}


@pytest.mark.parametrize("point", POINTS, ids=lambda p: f"row{p.number:02d}-{p.key}")
def test_table_row_matches_the_spec(point: Point) -> None:
    n = point.number
    assert point.admin is Effect.ALLOW
    own = Effect.DENY if n in ADMIN_ONLY else Effect.ALLOW
    assert point.developer_own is own and point.operator_own is own  # §5.1: identical
    if n in CREATION:
        others = Effect.NOT_APPLICABLE
    elif n in OPERATOR_ON_OTHERS:
        others = Effect.ALLOW
    else:
        others = Effect.DENY
    assert point.operator_others is others
    assert point.creates is (n in CREATION)
    assert point.shared_read is (n in SHARED_READ)
    assert point.owned is (n > 6)


def test_table_keys_follow_the_source_sections() -> None:
    """Rows 7-20 are annotated datasets, 21-29 basic datasets, and so on (spec 01 §5)."""
    sections = {
        "workspace_users": [1, 2, 3, 4],
        "workspace_config": [5, 6],
        "dataset": list(range(7, 21)),
        "basic_dataset": list(range(21, 30)),
        "model": list(range(30, 50)),
        "image": list(range(50, 55)),
        "code": list(range(55, 63)),
        "training": list(range(63, 70)),
        "devenv": list(range(70, 79)),
        "common": list(range(79, 83)),
    }
    for namespace, numbers in sections.items():
        assert [p.number for p in POINTS if p.namespace == namespace] == numbers, namespace


def test_source_keys_are_the_verbatim_chinese_keys() -> None:
    spot = {
        1: "工作空间用户-添加",
        7: "数据集-创建",
        56: "我的代码包-导入代码包",
        82: "公共服务-保存至模型管理",
    }
    for number, source in spot.items():
        assert POINTS[number - 1].source == source
