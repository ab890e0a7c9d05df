"""``--mount KIND:NAME[:VERSION]`` of ``hangar jobs create`` and ``hangar dev create``: assets
named as in their own commands (id or name), resolved in the workspace before submitting."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from hangar.assets.dataset_schemas import MountRead
from hangar.client import HangarClient

MountOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--mount", "-m",
        help="dataset|model|code:NAME[:VERSION], shown at /work/mount/<kind>/<name>; repeat.",
        show_default=False,
    ),
]  # fmt: skip


def resolve(client: HangarClient, workspace: str, values: list[str] | None) -> list[dict[str, Any]]:
    mounts: list[dict[str, Any]] = []
    for value in values or []:
        kind, _, rest = value.partition(":")
        ref, _, version = rest.partition(":")
        if kind not in ("dataset", "model", "code") or not ref:
            raise typer.BadParameter(
                f"'{value}' is not dataset|model|code:NAME[:VERSION]", param_hint="--mount"
            )
        if kind == "dataset":
            ident = client.datasets.find(ref, workspace=workspace).id
        elif kind == "model":
            ident = client.models.find(ref, workspace=workspace).id
        else:
            ident = client.code.find(ref, workspace=workspace).id
        mounts.append({"kind": kind, "id": ident, "version": version or None})
    return mounts


def mounts_text(mounts: list[MountRead]) -> str | None:
    """One line per mount: path, asset, version, access."""
    if not mounts:
        return None
    return "\n".join(
        f"{m.path}  {m.kind} {m.asset_name}"
        + (f" {m.version}" if m.version else "")
        + ("" if m.read_only else "  read-write")
        + ("  confidential" if m.confidential else "")
        for m in mounts
    )
