"""Entry point: ``hangar <command>``. Each command group lives in its own module."""

from __future__ import annotations

from typing import Annotated

import typer

from hangar import __version__
from hangar.cli.commands import (
    audit,
    auth,
    billing,
    billing_policy,
    clusters,
    code_packages,
    datasets,
    dev,
    groups,
    images,
    jobs,
    members,
    models,
    queues,
    quotas,
    settings,
    sim,
    storages,
    tokens,
    usage,
    users,
    workspaces,
)
from hangar.cli.context import HangarTyper, begin
from hangar.cli.output import OutputFormat
from hangar.cli.server import server

app = HangarTyper(
    name="hangar",
    help="Hangar: self-hosted AI compute platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command()(server)
app.command()(auth.login)
app.command()(auth.logout)
app.command()(auth.whoami)
app.command()(auth.passwd)
app.add_typer(users.app, name="users")
app.add_typer(groups.app, name="groups")
app.add_typer(workspaces.app, name="workspaces")
app.add_typer(members.app, name="members")
app.add_typer(tokens.app, name="tokens")
app.add_typer(audit.app, name="audit")
app.add_typer(settings.app, name="settings")
app.add_typer(clusters.clusters, name="clusters", no_args_is_help=True)
app.add_typer(clusters.nodes, name="nodes", no_args_is_help=True)
app.add_typer(clusters.devices, name="devices", no_args_is_help=True)
app.add_typer(clusters.specs, name="specs", no_args_is_help=True)
app.add_typer(quotas.app, name="quotas", no_args_is_help=True)
app.add_typer(queues.app, name="queues", no_args_is_help=True)
app.add_typer(jobs.app, name="jobs", no_args_is_help=True)
app.add_typer(jobs.queue_app, name="queue", no_args_is_help=True)
app.add_typer(dev.app, name="dev", no_args_is_help=True)
app.add_typer(images.app, name="image", no_args_is_help=True)
app.add_typer(models.app, name="model", no_args_is_help=True)
app.add_typer(datasets.app, name="dataset", no_args_is_help=True)
app.add_typer(storages.app, name="storage", no_args_is_help=True)
app.add_typer(code_packages.app, name="code", no_args_is_help=True)
billing_policy.register(billing.app)
app.add_typer(billing.app, name="billing", no_args_is_help=True)
app.add_typer(usage.app, name="usage", no_args_is_help=True)
app.add_typer(sim.app, name="sim", no_args_is_help=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hangar {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    output: Annotated[
        OutputFormat,
        typer.Option(
            "--output",
            "-o",
            envvar="HANGAR_OUTPUT",
            case_sensitive=False,
            help="table for people, json for programs (exactly the API's JSON on stdout).",
        ),
    ] = OutputFormat.TABLE,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Hangar: self-hosted AI compute platform.

    Log in once with `hangar login`; commands then use the saved server and token
    (HANGAR_SERVER and HANGAR_TOKEN override them). Exit codes: 0 ok, 1 error,
    2 usage error, 3 not logged in.
    """
    begin(output)
