"""Render the permission tables as Markdown for docs/tenancy.md (kept in sync by a test)."""

from __future__ import annotations

from hangar.tenancy.capabilities import CAPABILITIES, TenantRole
from hangar.tenancy.matrix import POINTS, Effect

_CELL = {Effect.ALLOW: "Allow", Effect.DENY: "Deny", Effect.NOT_APPLICABLE: "n/a"}


def workspace_matrix_markdown() -> str:
    lines = [
        "| # | Permission point | Key | Admin | Developer, own | Operator, own "
        "| Operator, others' | Developer, others' |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for p in POINTS:
        if p.creates or not p.owned:
            dev_others = "n/a"
        else:
            dev_others = "Shared only" if p.shared_read else "Deny"
        lines.append(
            f"| {p.number} | {p.label} | `{p.key}` | {_CELL[p.admin]} | {_CELL[p.developer_own]} "
            f"| {_CELL[p.operator_own]} | {_CELL[p.operator_others]} | {dev_others} |"
        )
    return "\n".join(lines) + "\n"


def capability_markdown() -> str:
    roles = list(TenantRole)
    header = "| Capability | Key | " + " | ".join(r.value for r in roles) + " |"
    lines = [header, "|---|---|" + "---|" * len(roles)]
    for cap in CAPABILITIES:
        cells = " | ".join("Allow" if r in cap.roles else "Deny" for r in roles)
        lines.append(f"| {cap.label} | `{cap.key}` | {cells} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    print("## Tenant capabilities\n")
    print(capability_markdown())
    print("## Workspace permission matrix\n")
    print(workspace_matrix_markdown())


if __name__ == "__main__":
    main()
