"""``hangar jobs``: training jobs (spec 04), and ``hangar queue``: the admission queue."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from hangar.cli.context import HangarTyper, OutputOpt, YesOpt, connect, output_format
from hangar.cli.mount_option import MountOpt, mounts_text
from hangar.cli.mount_option import resolve as resolve_mounts
from hangar.cli.output import Column, done, emit, notice, record, say, table
from hangar.client import HangarClient, HangarLookupError
from hangar.jobs.schemas import JobOptions, JobRead, JobSummary, PoolQueue, QueuedWorkload, RunRead
from hangar.workloads.lifecycle import State

app = HangarTyper(help="Training jobs: create, watch, stop, restart, copy, delete.")
queue_app = HangarTyper(help="The admission queue: waiting workloads, admin priority.")

JobArg = Annotated[str, typer.Argument(help="Job id.", show_default=False)]
WsOpt = Annotated[
    str | None,
    typer.Option("--workspace", "-w", help="Workspace name or id (default: the default one).",
                 show_default=False),
]  # fmt: skip


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


COLUMNS: list[Column[JobSummary]] = [
    ("NAME", lambda j: j.name),
    ("MODE", lambda j: j.mode),
    ("RESOURCES", lambda j: j.occupied),
    ("STATUS", lambda j: j.state_display),
    ("DURATION", lambda j: duration(j.duration_seconds)),
    ("SOURCE", lambda j: j.source),
    ("STARTED", lambda j: j.started_at),
    ("WORKSPACE", lambda j: j.workspace_name),
    ("ID", lambda j: j.id),
]
RUN_COLUMNS: list[Column[RunRead]] = [
    ("RUN", lambda r: r.number),
    ("STATE", lambda r: r.state),
    ("RESTARTS", lambda r: r.restarts),
    ("EXIT", lambda r: r.exit_code),
    ("STARTED", lambda r: r.started_at),
    ("FINISHED", lambda r: r.finished_at),
    ("GPU-H", lambda r: f"{r.usage.gpu_hours:g}"),
    ("CPU-CORE-H", lambda r: f"{r.usage.cpu_core_hours:g}"),
    ("ID", lambda r: r.id),
]


def show_job(job: JobRead) -> None:
    record(
        [
            ("Name", job.name), ("Id", job.id), ("Status", f"{job.state_display} ({job.state})"),
            ("Reason", job.state_reason), ("Workspace", job.workspace_name),
            ("Pool", f"{job.pool.kind} '{job.pool.name}'" if job.pool else None),
            ("Mode", job.mode), ("Resources", job.occupied), ("Procs per node", job.procs_per_node),
            ("Command", job.command), ("Image", job.image), ("Env", job.env),
            ("Fault tolerance", job.restart.fault_tolerance), ("Priority", job.priority),
            ("Created by", job.created_by_name), ("Source", job.source),
            ("Submitted", job.submitted_at), ("Runs", job.run_count),
            ("Mounts", mounts_text(job.mounts)),
        ]
    )  # fmt: skip
    table(job.runs, RUN_COLUMNS, empty="no runs yet")
    for event in job.events[-10:]:
        say(f"{event.at:%Y-%m-%d %H:%M:%S} {event.kind:<10} {event.message}")


def _workspace(client: HangarClient, ref: str | None) -> str:
    if ref:
        return client.workspaces.find(ref).id
    return next(w.id for w in client.workspaces.list() if w.is_default)


def _pick(options: JobOptions, kind: str, ref: str | None) -> str | None:
    """A quota or queue by name or id among the form's choices; unknown refs go to the
    server as given, so its message (404, not associated, ...) is what the user sees."""
    if ref is None:
        return None
    for pool in options.pools:
        if pool.kind == kind and ref in (pool.id, pool.name):
            return pool.id
    return ref


def _spec(options: JobOptions, ref: str, pool_id: str | None) -> str:
    clusters = {p.cluster_id for p in options.pools if pool_id in (None, p.id)}
    for spec in options.specs:
        if spec.cluster_id in clusters and ref in (spec.id, spec.name, spec.display):
            return spec.id
    raise HangarLookupError(
        "spec", ref, f"spec '{ref}' not found among the specs this workspace's pools offer"
    )


def _env(values: list[str] | None) -> dict[str, str]:
    env: dict[str, str] = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"'{item}' is not KEY=VALUE", param_hint="--env")
        env[key] = value
    return env


@app.command()
def create(
    name: Annotated[str, typer.Argument(help="Job name: letters, digits, '-', '_' (≤ 64).")],
    command: Annotated[
        str | None, typer.Option("--command", "-c", help="Start command.", show_default=False)
    ] = None,
    command_file: Annotated[
        Path | None,
        typer.Option(
            "--command-file",
            help="Read the start command from a file ('-': stdin).",
            show_default=False,
        ),
    ] = None,
    workspace: WsOpt = None,
    mode: Annotated[str, typer.Option(help="ddp (1 master + workers) or single.")] = "ddp",
    workers: Annotated[int, typer.Option("--workers", help="DDP worker nodes.")] = 1,
    procs_per_node: Annotated[
        int | None,
        typer.Option(
            help="Processes per node (default: the node's GPUs, else 1).", show_default=False
        ),
    ] = None,
    spec: Annotated[
        str | None,
        typer.Option("--spec", "-s", help="Per-node spec: id, name or string.", show_default=False),
    ] = None,
    cpu: Annotated[
        float | None, typer.Option(help="CPU cores per node.", show_default=False)
    ] = None,
    mem_gib: Annotated[
        float | None, typer.Option(help="Memory per node, GiB.", show_default=False)
    ] = None,
    gpus: Annotated[int, typer.Option(help="GPUs per node.")] = 0,
    gpu_model: Annotated[str | None, typer.Option(help="Card model.", show_default=False)] = None,
    quota: Annotated[str | None, typer.Option("--quota", "-q", show_default=False)] = None,
    queue: Annotated[str | None, typer.Option("--queue", show_default=False)] = None,
    image: Annotated[str | None, typer.Option(show_default=False)] = None,
    env: Annotated[
        list[str] | None, typer.Option("--env", "-e", help="KEY=VALUE; repeat.", show_default=False)
    ] = None,
    description: Annotated[str, typer.Option("--description", "-d")] = "",
    fault_tolerance: Annotated[bool, typer.Option(help="Restart from checkpoints.")] = False,
    max_restarts: Annotated[int, typer.Option(help="Restarts per error.")] = 3,
    mount: MountOpt = None,
    output: OutputOpt = None,
) -> None:
    """Submit a training job; it waits until the scheduler admits it."""
    if mode not in ("ddp", "single"):
        raise typer.BadParameter("use ddp or single", param_hint="--mode")
    text = _command(command, command_file)
    if spec is None and (cpu is None or mem_gib is None):
        raise typer.BadParameter("pass --spec, or both --cpu and --mem-gib", param_hint="--spec")
    with connect() as client:
        ws = _workspace(client, workspace)
        options = client.jobs.options(ws)
        quota_id, queue_id = _pick(options, "quota", quota), _pick(options, "queue", queue)
        resources: dict[str, Any] = (
            {"spec_id": _spec(options, spec, quota_id or queue_id)}
            if spec
            else {"cpu_cores": cpu, "mem_gib": mem_gib, "gpus": gpus, "gpu_model": gpu_model}
        )
        made = client.jobs.create(
            mounts=resolve_mounts(client, ws, mount),
            workspace_id=ws, name=name, command=text, resources=resources,
            mode="ddp" if mode == "ddp" else "single", worker_count=workers,
            procs_per_node=procs_per_node, quota_id=quota_id, queue_id=queue_id,
            description=description, image=image, env=_env(env), source="cli",
            restart={"fault_tolerance": fault_tolerance, "max_restarts_per_error": max_restarts},
        )  # fmt: skip
    emit(output_format(output), made, lambda: show_job(made))


def _command(command: str | None, path: Path | None) -> str:
    if command is not None and path is not None:
        raise typer.BadParameter("give --command or --command-file, not both")
    if path is not None:
        return sys.stdin.read() if str(path) == "-" else path.read_text()
    if command is None:
        raise typer.BadParameter("the start command is required", param_hint="--command")
    return command


@app.command("list")
def list_jobs(
    workspace: Annotated[str | None, typer.Option("--workspace", "-w", show_default=False)] = None,
    state: Annotated[
        list[State] | None, typer.Option("--state", help="Repeat for several.", show_default=False)
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Name contains.")] = None,
    created_by: Annotated[
        str | None, typer.Option("--created-by", help="Username, id, or 'me'.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    output: OutputOpt = None,
) -> None:
    """Jobs you may see, newest first."""
    with connect() as client:
        page = client.jobs.list(
            workspace=workspace, states=state or [], name=name, created_by=created_by,
            limit=limit, offset=offset,
        )  # fmt: skip
    caption = f"Running jobs: {page.running} · {page.total} matching"
    emit(output_format(output), page,
         lambda: table(page.items, COLUMNS, empty="no jobs", caption=caption))  # fmt: skip


@app.command()
def show(job: JobArg, output: OutputOpt = None) -> None:
    """A job with its runs and latest events."""
    with connect() as client:
        found = client.jobs.get(job)
    emit(output_format(output), found, lambda: show_job(found))


@app.command()
def stop(job: JobArg, output: OutputOpt = None) -> None:
    """Stop a job (a running one goes through Stopping)."""
    with connect() as client:
        stopped = client.jobs.stop(job)
    emit(output_format(output), stopped,
         lambda: say(f"Job '{stopped.name}' is {stopped.state_display.lower()}."))  # fmt: skip


@app.command()
def restart(job: JobArg, output: OutputOpt = None) -> None:
    """Start a finished job again (a new run)."""
    with connect() as client:
        again = client.jobs.restart(job)
    emit(output_format(output), again, lambda: say(f"Job '{again.name}' was submitted again."))


@app.command()
def copy(
    job: JobArg,
    name: Annotated[str | None, typer.Option(help="Default: <name>-copy.")] = None,
    description: Annotated[str | None, typer.Option("--description", "-d")] = None,
    output: OutputOpt = None,
) -> None:
    """Submit a copy with the same configuration and inputs."""
    with connect() as client:
        made = client.jobs.copy(job, name=name, description=description, source="cli")
    emit(output_format(output), made, lambda: say(f"Submitted '{made.name}' ({made.id})."))


@app.command()
def delete(job: JobArg, yes: YesOpt = False, output: OutputOpt = None) -> None:
    """Delete a finished job, its runs and its logs."""
    with connect() as client:
        found = client.jobs.get(job)
        if not yes:
            typer.confirm(f"Delete job '{found.name}' ({found.id}) and its logs?", abort=True)
        client.jobs.delete(found.id)
    done(output_format(output), f"Deleted job '{found.name}'.")


@app.command()
def logs(
    job: JobArg,
    run: Annotated[str | None, typer.Option(help="Run number or id (default: latest).")] = None,
    node: Annotated[int, typer.Option(help="Node rank (0 = master).")] = 0,
    attempt: Annotated[int | None, typer.Option(help="Attempt (default: latest).")] = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Stream until it ends.")] = False,
) -> None:
    """Print one node's log; with --follow, keep printing as it grows."""
    with connect() as client:
        found = client.jobs.get(job)
        chosen = _run(found, run)
        if follow:
            for text in client.jobs.follow_logs(found.id, chosen.id, node=node, attempt=attempt):
                sys.stdout.write(text)
                sys.stdout.flush()
            return
        sys.stdout.write(
            client.jobs.download_logs(found.id, chosen.id, node=node, attempt=attempt).decode(
                "utf-8", errors="replace"
            )
        )


def _run(job: JobRead, ref: str | None) -> RunRead:
    if not job.runs:
        raise HangarLookupError(
            "run", ref or "", f"job '{job.name}' has no run yet: {job.state_display.lower()}, "
            f"{job.state_reason}",
        )  # fmt: skip
    if ref is None:
        return job.runs[0]
    for r in job.runs:
        if ref in (r.id, str(r.number)):
            return r
    raise HangarLookupError("run", ref, f"job '{job.name}' has no run '{ref}'")


WAIT_COLUMNS: list[Column[QueuedWorkload]] = [
    ("POS", lambda w: w.position),
    ("NAME", lambda w: w.name),
    ("KIND", lambda w: w.kind),
    ("WORKSPACE", lambda w: w.workspace_name),
    ("USER", lambda w: w.created_by_name),
    ("PRIO", lambda w: w.priority),
    ("WAITING", lambda w: duration(w.wait_seconds)),
    ("REQUEST", lambda w: w.request),
    ("REASON", lambda w: w.reason),
    ("ID", lambda w: w.id),
]


def _show_queue(pools: list[PoolQueue]) -> None:
    if not pools:
        notice("nothing is waiting")
    for p in pools:
        caption = f"{p.pool.kind} '{p.pool.name}' on {p.cluster_name} ({p.status})"
        table(p.workloads, WAIT_COLUMNS, empty="", caption=caption)


@queue_app.command("list")
def queue_list(output: OutputOpt = None) -> None:
    """Waiting workloads per quota or queue, in admission order, with the reason."""
    with connect() as client:
        pools = client.waiting.list()
    emit(output_format(output), pools, lambda: _show_queue(pools))


@queue_app.command()
def priority(
    workload: Annotated[str, typer.Argument(help="Workload (job) id.")],
    value: Annotated[int, typer.Argument(help="Higher goes first; 0 is the default.")],
    output: OutputOpt = None,
) -> None:
    """Reorder a waiting workload (tenant admins and the pool's admins)."""
    with connect() as client:
        changed = client.waiting.set_priority(workload, value)
    message = f"Priority of '{changed.name}': {changed.previous} → {changed.priority}."
    emit(output_format(output), changed, lambda: say(message))
