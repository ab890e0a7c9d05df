"""``hangar dev``: dev environments (spec 03): JupyterLab, VS Code in the browser, SSH."""

from __future__ import annotations

import webbrowser
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from hangar.cli.commands.jobs import _env, _pick, _spec, _workspace
from hangar.cli.context import HangarTyper, OutputOpt, YesOpt, connect, output_format
from hangar.cli.mount_option import MountOpt, mounts_text
from hangar.cli.mount_option import resolve as resolve_mounts
from hangar.cli.output import Column, done, emit, print_error, record, say, table
from hangar.client import HangarClient
from hangar.devenvs.schemas import DevEnvRead, DevEnvSummary, IdlePolicyRead

app = HangarTyper(help="Dev environments: create, start, open, stop, delete, keep alive.")

EnvArg = Annotated[str, typer.Argument(help="Environment name or id.", show_default=False)]
WsOpt = Annotated[
    str | None,
    typer.Option("--workspace", "-w", help="Workspace name or id (default: the default one).",
                 show_default=False),
]  # fmt: skip

COLUMNS: list[Column[DevEnvSummary]] = [
    ("NAME", lambda e: e.name),
    ("IDE", lambda e: e.ide_label),
    ("STATUS", lambda e: e.status + (" (deleting)" if e.deleting else "")),
    ("RUN DURATION", lambda e: e.run_duration),
    ("SPEC", lambda e: e.spec),
    ("IMAGE", lambda e: e.image),
    ("CREATOR", lambda e: e.created_by_name),
    ("WORKSPACE", lambda e: e.workspace_name),
    ("ID", lambda e: e.id),
]


def server_url(client: HangarClient) -> str:
    return client.server_url.rstrip("/")


def show_env(env: DevEnvRead, base: str = "") -> None:
    record(
        [
            ("Name", env.name), ("Id", env.id), ("IDE", env.ide_label),
            ("Status", f"{env.status} ({env.state})"), ("Reason", env.state_reason),
            ("Open", f"{base}{env.open_url}" if env.open_url else "only while running"),
            ("Workspace", env.workspace_name), ("Image", env.image), ("Spec", env.spec),
            ("Pool", f"{env.pool.kind} '{env.pool.name}'" if env.pool else None),
            ("Run duration", env.run_duration), ("Env", env.env),
            ("SSH", env.ssh.command or ("when running; keys: " + "; ".join(env.ssh.keys)
                                         if env.ssh.enabled else "off")),
            ("Idle stop", f"after {env.idle.idle_minutes} min" + (" (locked by admin)"
                          if env.idle.locked else "") if env.idle.idle_minutes else "off"),
            ("Scheduled stop", env.idle.stop_at),
            ("Last activity", f"{env.idle.last_activity_at} ({env.idle.last_activity_source})"
             if env.idle.last_activity_at else None),
            ("Exposed ports", ", ".join(f"{p} → {base}{u}" for p, u in env.port_urls.items())
             or None),
            ("Cache", f"purged at {env.cache.purge_at}" if env.cache.purged else
             (f"kept until {env.cache.purge_at}" if env.cache.purge_at else
              f"/work/cache, {env.cache.limit_gib} GiB")),
            ("Created by", env.created_by_name), ("Created", env.created_at),
            ("Mounts", mounts_text(env.mounts)),
        ]
    )  # fmt: skip
    for event in env.events[-8:]:
        say(f"{event.at:%Y-%m-%d %H:%M:%S} {event.kind:<10} {event.message}")


def _utc(value: datetime | None) -> datetime | None:
    """Typer reads a time without a zone; the options say UTC (the API needs a zone)."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _keys(values: list[str] | None, files: list[Path] | None) -> str:
    keys = list(values or [])
    for path in files or []:
        keys.extend(line.strip() for line in path.read_text().splitlines() if line.strip())
    return ";".join(keys)


@app.command()
def create(
    name: Annotated[str, typer.Argument(help="Letters, digits, '-', '_' (≤ 64).")],
    ide: Annotated[str, typer.Option(help="jupyterlab or code-server.")] = "jupyterlab",
    workspace: WsOpt = None,
    spec: Annotated[
        str | None,
        typer.Option("--spec", "-s", help="Spec id, name or string.", show_default=False),
    ] = None,
    cpu: Annotated[float | None, typer.Option(help="CPU cores.", show_default=False)] = None,
    mem_gib: Annotated[float | None, typer.Option(help="Memory, GiB.", show_default=False)] = None,
    gpus: Annotated[int, typer.Option(help="Whole GPUs.")] = 0,
    gpu_model: Annotated[str | None, typer.Option(help="Card model.", show_default=False)] = None,
    quota: Annotated[str | None, typer.Option("--quota", "-q", show_default=False)] = None,
    queue: Annotated[str | None, typer.Option("--queue", show_default=False)] = None,
    image: Annotated[str | None, typer.Option(show_default=False)] = None,
    env: Annotated[
        list[str] | None, typer.Option("--env", "-e", help="KEY=VALUE; repeat.", show_default=False)
    ] = None,
    ssh_key: Annotated[
        list[str] | None,
        typer.Option("--ssh-key", help="A public key line; repeat (≤ 10).", show_default=False),
    ] = None,
    ssh_key_file: Annotated[
        list[Path] | None,
        typer.Option("--ssh-key-file", help="A .pub file; repeat.", show_default=False),
    ] = None,
    idle_minutes: Annotated[
        int | None, typer.Option(help="Stop after this many idle minutes.", show_default=False)
    ] = None,
    stop_at: Annotated[
        datetime | None, typer.Option(help="Stop at this time (UTC).", show_default=False)
    ] = None,
    description: Annotated[str, typer.Option("--description", "-d")] = "",
    start: Annotated[bool, typer.Option(help="Start it right away.")] = False,
    mount: MountOpt = None,
    output: OutputOpt = None,
) -> None:
    """Create an environment; it is *Not started* unless --start is given."""
    if ide not in ("jupyterlab", "code-server"):
        raise typer.BadParameter("use jupyterlab or code-server", param_hint="--ide")
    if spec is None and (cpu is None or mem_gib is None):
        raise typer.BadParameter("pass --spec, or both --cpu and --mem-gib", param_hint="--spec")
    with connect() as client:
        ws = _workspace(client, workspace)
        options = client.jobs.options(ws, workload_type="ide")
        quota_id, queue_id = _pick(options, "quota", quota), _pick(options, "queue", queue)
        resources: dict[str, Any] = (
            {"spec_id": _spec(options, spec, quota_id or queue_id)}
            if spec
            else {"cpu_cores": cpu, "mem_gib": mem_gib, "gpus": gpus, "gpu_model": gpu_model}
        )
        made = client.devenvs.create(
            mounts=resolve_mounts(client, ws, mount),
            workspace_id=ws, name=name, ide="code-server" if ide == "code-server" else "jupyterlab",
            image=image, resources=resources, quota_id=quota_id, queue_id=queue_id,
            description=description, env=_env(env), ssh_keys=_keys(ssh_key, ssh_key_file),
            idle_minutes=idle_minutes, stop_at=_utc(stop_at), start=start, source="cli",
        )  # fmt: skip
        base = server_url(client)
    emit(output_format(output), made, lambda: show_env(made, base))


@app.command("list")
def list_envs(
    workspace: WsOpt = None,
    mine: Annotated[bool, typer.Option(help="Only yours.")] = False,
    output: OutputOpt = None,
) -> None:
    """Environments you may see, newest first."""
    with connect() as client:
        page = client.devenvs.list(workspace=workspace, mine=mine, limit=500)
    emit(output_format(output), page,
         lambda: table(page.items, COLUMNS, empty="no dev environments"))  # fmt: skip


@app.command()
def show(env: EnvArg, output: OutputOpt = None) -> None:
    """An environment: status, how to open it, SSH, idle settings, recent events."""
    with connect() as client:
        found = client.devenvs.find(env)
        base = server_url(client)
    emit(output_format(output), found, lambda: show_env(found, base))


@app.command()
def start(
    env: EnvArg,
    wait: Annotated[bool, typer.Option(help="Wait until it runs.")] = False,
    output: OutputOpt = None,
) -> None:
    """Start a *Not started* environment."""
    with connect() as client:
        found = client.devenvs.start(client.devenvs.find(env).id)
        if wait:
            found = client.devenvs.wait_running(found.id)
        base = server_url(client)
    emit(output_format(output), found, lambda: show_env(found, base))
    if wait and found.state != "RUNNING":
        raise typer.Exit(1)  # it failed or was stopped meanwhile: shown above


@app.command()
def stop(env: EnvArg, output: OutputOpt = None) -> None:
    """Stop it: compute is released; /work/home stays, /work/cache is kept for a while."""
    with connect() as client:
        found = client.devenvs.stop(client.devenvs.find(env).id)
        base = server_url(client)
    emit(output_format(output), found, lambda: show_env(found, base))


@app.command("open")
def open_env(
    env: EnvArg,
    print_only: Annotated[bool, typer.Option("--print", help="Print the URL only.")] = False,
) -> None:
    """Open the IDE in your browser (you log in to the console there)."""
    with connect() as client:
        found = client.devenvs.find(env)
        base = server_url(client)
    if not found.open_url:
        print_error(f"dev environment '{found.name}' is {found.status}: start it first "
                    f"(hangar dev start {found.name} --wait)")  # fmt: skip
        raise typer.Exit(1)
    url = f"{base}{found.open_url}"
    say(url)
    if not print_only:
        webbrowser.open(url)


@app.command()
def delete(env: EnvArg, yes: YesOpt = False, output: OutputOpt = None) -> None:
    """Delete it (a running one is stopped first). /work/home is kept."""
    with connect() as client:
        found = client.devenvs.find(env)
        if not yes:
            typer.confirm(f"Delete dev environment '{found.name}'?", abort=True)
        message = client.devenvs.delete(found.id)
    done(output_format(output), message)


@app.command("keep-alive")
def keep_alive(env: EnvArg, output: OutputOpt = None) -> None:
    """Count as activity now: postpones an idle stop."""
    with connect() as client:
        found = client.devenvs.keep_alive(client.devenvs.find(env).id)
        base = server_url(client)
    emit(output_format(output), found, lambda: show_env(found, base))


@app.command()
def schedule(
    env: EnvArg,
    idle_minutes: Annotated[
        int | None, typer.Option(help="Idle timeout in minutes (0: off).", show_default=False)
    ] = None,
    stop_at: Annotated[
        datetime | None, typer.Option(help="Stop at this time, UTC.", show_default=False)
    ] = None,
    clear_stop: Annotated[bool, typer.Option(help="Cancel the scheduled stop.")] = False,
    output: OutputOpt = None,
) -> None:
    """Set the idle timeout and/or the scheduled stop."""
    changes: dict[str, Any] = {}
    if idle_minutes is not None:
        changes["idle_minutes"] = idle_minutes or None
    if stop_at is not None or clear_stop:
        changes["stop_at"] = _utc(stop_at)
    if not changes:
        raise typer.BadParameter("give --idle-minutes, --stop-at or --clear-stop")
    with connect() as client:
        found = client.devenvs.schedule(client.devenvs.find(env).id, **changes)
        base = server_url(client)
    emit(output_format(output), found, lambda: show_env(found, base))


@app.command()
def port(
    env: EnvArg,
    number: Annotated[int, typer.Argument(help="The port your server listens on (0.0.0.0).")],
    remove: Annotated[bool, typer.Option("--remove", help="Stop exposing it.")] = False,
    output: OutputOpt = None,
) -> None:
    """Expose an HTTP port of a running environment at /dev/<id>/ports/<port>/."""
    with connect() as client:
        found = client.devenvs.find(env)
        api = client.devenvs
        found = api.unexpose_port(found.id, number) if remove else api.expose_port(found.id, number)
        base = server_url(client)
    emit(output_format(output), found, lambda: show_env(found, base))


@app.command()
def train(env: EnvArg, output: OutputOpt = None) -> None:
    """Print a training-job draft pre-filled from the environment ("Start training")."""
    with connect() as client:
        draft = client.devenvs.training_draft(client.devenvs.find(env).id)
    emit(output_format(output), draft, lambda: record(list(draft.model_dump().items())))


policy_app = HangarTyper(help="A workspace's idle-shutdown policy (workspace admins set it).")
app.add_typer(policy_app, name="policy", no_args_is_help=True)


def show_policy(found: IdlePolicyRead) -> None:
    record(
        [
            ("Idle stop", f"after {found.idle_minutes} min"),
            ("Locked", "yes: users cannot lengthen it, turn it off or keep alive"
             if found.locked else "no: a default users may change"),
            ("GPU busy above", f"{found.gpu_busy_percent} %"),
            ("Updated", found.updated_at),
        ]
    )  # fmt: skip


@policy_app.command("show")
def policy_show(workspace: WsOpt = None, output: OutputOpt = None) -> None:
    """The workspace's policy."""
    with connect() as client:
        found = client.devenvs.idle_policy(_workspace(client, workspace))
    emit(output_format(output), found, lambda: show_policy(found))


@policy_app.command("set")
def policy_set(
    idle_minutes: Annotated[int, typer.Option(help="Stop after this many idle minutes (≥ 5).")],
    locked: Annotated[bool, typer.Option(help="Users cannot override it.")] = False,
    gpu_busy_percent: Annotated[
        int, typer.Option(help="GPU use above this counts as activity.")
    ] = 10,
    workspace: WsOpt = None,
    output: OutputOpt = None,
) -> None:
    """Set the workspace's idle-shutdown policy."""
    with connect() as client:
        found = client.devenvs.set_idle_policy(
            _workspace(client, workspace), idle_minutes=idle_minutes, locked=locked,
            gpu_busy_percent=gpu_busy_percent,
        )  # fmt: skip
    emit(output_format(output), found, lambda: show_policy(found))


@policy_app.command("clear")
def policy_clear(workspace: WsOpt = None, output: OutputOpt = None) -> None:
    """Remove the policy: environments stop when idle only if they set it themselves."""
    with connect() as client:
        client.devenvs.clear_idle_policy(_workspace(client, workspace))
    done(output_format(output), "Idle policy removed.")
