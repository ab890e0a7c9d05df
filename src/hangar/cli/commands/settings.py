"""``hangar settings``: tenant settings, for now the per-user limit defaults."""

from __future__ import annotations

from typing import Annotated

import typer

from hangar.cli.commands.users import LIMIT_LABELS
from hangar.cli.context import HangarTyper, OutputOpt, connect, output_format
from hangar.cli.output import emit, table
from hangar.client import UNSET, Unset
from hangar.tenancy.schemas import LimitsRead

app = HangarTyper(help="Settings of your organisation (tenant admins).", no_args_is_help=True)


@app.command()
def limits(
    max_gpus: Annotated[
        int | None, typer.Option(min=0, help="Default: most GPUs per user at once.")
    ] = None,
    max_cpus: Annotated[
        int | None, typer.Option(min=0, help="Default: most CPU cores per user at once.")
    ] = None,
    pfs_gib: Annotated[
        int | None, typer.Option(min=0, help="Default: parallel file system quota, GiB.")
    ] = None,
    output: OutputOpt = None,
) -> None:
    """Show the tenant's default per-user limits; with options, change them.

    Users without an override get these; `hangar users limits USER` sets overrides.

    The installation caps each value (the server's HANGAR_CAP_USER_* settings).
    """
    with connect() as client:
        if max_gpus is None and max_cpus is None and pfs_gib is None:
            result = client.settings.get_limits()
        else:
            result = client.settings.set_limits(
                max_gpus=_given(max_gpus), max_cpus=_given(max_cpus), pfs_gib=_given(pfs_gib)
            )
    emit(output_format(output), result, lambda: _show_defaults(result))


def _given(value: int | None) -> int | Unset:
    return UNSET if value is None else value


def _show_defaults(defaults: LimitsRead) -> None:
    table(
        list(LIMIT_LABELS.items()),
        [("LIMIT", lambda r: r[1]), ("TENANT DEFAULT", lambda r: getattr(defaults, r[0]))],
        empty="no limits",
        caption="users without an override get these; `hangar users limits USER` shows one user",
    )
