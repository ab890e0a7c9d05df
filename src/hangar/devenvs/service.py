"""Dev-environment actions: create, start, stop, delete, keep alive, schedule, ports.

The caller owns the transaction. State changes go through the shared workload lifecycle
(:mod:`hangar.devenvs.states` maps it to spec 03's vocabulary), so the scheduler, the run
reconciler and usage metering treat a dev environment like any other workload. Nothing here
talks to a backend: deleting returns what the caller removes after commit. The one write to
the filesystem is a start's sshd files (:mod:`hangar.devenvs.sshd`, local and quick): they
are rewritten at every start, so a start rolled back after writing them leaves nothing wrong.
"""

from __future__ import annotations

import secrets
import socket
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from hangar.assets import mounts
from hangar.audit.context import note_target
from hangar.backends.state import RunHandle
from hangar.config import Settings
from hangar.db.base import utcnow
from hangar.devenvs import launch, ssh_keys, sshd
from hangar.devenvs.orm import DevEnvironment, IdlePolicy
from hangar.devenvs.schemas import MAX_EXPOSED_PORTS, DevEnvCreate, ScheduleUpdate
from hangar.devenvs.states import status
from hangar.devenvs.tools import code_server_path
from hangar.errors import Conflict, ValidationFailed
from hangar.images import service as images
from hangar.images.orm import Image
from hangar.jobs.access import JobAccess, access_workspace_for_create
from hangar.jobs.schemas import RestartPolicy
from hangar.jobs.service import run_handles
from hangar.jobs.submission import check_admissible, check_pool, check_resources, pool_of
from hangar.resources.types import WorkloadType
from hangar.tenancy.access import Actor
from hangar.workloads.lifecycle import TERMINAL, State, transition
from hangar.workloads.orm import Workload
from hangar.workloads.service import do_note, do_transition
from hangar.workloads.service import do_stop as stop_workload

KIND = "ide"
#: Spec 03 §1.9: only images with this tag support SSH (the preset image has it).
SSH_TAG = "ssh"
IDE = WorkloadType.IDE
#: Totals kept in ``spec["request"]``: whole cards, or a vGPU's share of one (gpu_milli).
REQUEST_KEYS = ("cpu_millicores", "mem_bytes", "gpus", "gpu_milli")
Source = Literal["api", "console", "cli"]


@dataclass(frozen=True)
class Removal:
    """What to clean up after a deletion committed: backend runs and the environment's dir."""

    handles: list[RunHandle]
    directory: Path


def env_row(session: Session, workload: Workload) -> DevEnvironment:
    row = session.get(DevEnvironment, workload.id)
    assert row is not None  # created together with the workload
    return row


def env_dir(home: Path, workload_id: str) -> Path:
    """``<home>/devenvs/<id>``: the cache, the sshd files; removed with the environment."""
    return home / "devenvs" / workload_id


def ssh_dir(home: Path, workload_id: str) -> Path:
    """The environment's sshd files (host key, authorized keys): beside the cache."""
    return env_dir(home, workload_id) / sshd.SUBDIR


def policy_of(session: Session, workspace_id: str) -> IdlePolicy | None:
    return session.scalar(select(IdlePolicy).where(IdlePolicy.workspace_id == workspace_id))


def effective_idle(env: DevEnvironment, policy: IdlePolicy | None) -> int | None:
    """The idle timeout in force: a locked policy caps the user's; an open one is a default."""
    if policy is None:
        return env.idle_minutes
    if policy.locked:
        return min(env.idle_minutes or policy.idle_minutes, policy.idle_minutes)
    return env.idle_minutes if env.idle_minutes is not None else policy.idle_minutes


def check_idle_setting(policy: IdlePolicy | None, minutes: int | None) -> None:
    if policy is None or not policy.locked:
        return
    if minutes is None or minutes > policy.idle_minutes:
        raise Conflict(
            f"the workspace's idle policy is locked at {policy.idle_minutes} minutes by an "
            f"admin: set idle_minutes to at most {policy.idle_minutes}, or ask an admin",
            fields={"idle_minutes": f"locked policy: ≤ {policy.idle_minutes}"},
        )


def check_stop_at(stop_at: datetime | None) -> None:
    if stop_at is not None and stop_at <= utcnow():
        raise ValidationFailed.field(
            "stop_at", f"{stop_at.isoformat()} is in the past: give a future time (UTC)"
        )


# --- create -------------------------------------------------------------------------------


def do_create(
    session: Session,
    *,
    actor: Actor,
    data: DevEnvCreate,
    settings: Settings,
    source: Source = "api",
) -> Workload:
    """Create an environment in state *Not started* (spec 03 §1.2); start it if asked."""
    note_target("devenv", "", data.name)
    ws = access_workspace_for_create(session, actor, data.workspace_id, point="devenv.create")
    keys = _parse_keys(data.ssh_keys)
    if data.ide == "code-server" and code_server_path(settings) is None:
        raise Conflict(
            "code-server is not installed on this server: an operator runs "
            "scripts/code-server.sh (or sets HANGAR_CODE_SERVER); pick JupyterLab meanwhile",
            fields={"ide": "code-server not installed"},
        )
    taken = session.scalar(
        select(Workload.id).where(
            Workload.workspace_id == ws.id, Workload.kind == KIND, Workload.name == data.name
        )
    )
    if taken:
        raise Conflict(
            f"workspace '{ws.name}' already has a dev environment named '{data.name}': pick "
            "another name",
            fields={"name": "already exists in this workspace"},
        )
    policy = policy_of(session, ws.id)
    if data.idle_minutes is not None:
        check_idle_setting(policy, data.idle_minutes)
    check_stop_at(data.stop_at)
    pool = check_pool(session, actor=actor, ws=ws, quota_ref=data.quota_id, queue_ref=data.queue_id)
    per_node = check_resources(session, pool=pool, res=data.resources, workload_type=IDE)
    image = images.resolve(session, actor, data.image)
    if keys and SSH_TAG not in image.tags:
        raise ValidationFailed(
            f"image '{images.label(image)}' is not tagged '{SSH_TAG}': only SSH images support "
            "SSH (spec 03 §1.9); pick one, such as the preset image, or leave ssh_keys empty",
            fields={"image": f"not tagged '{SSH_TAG}'", "ssh_keys": "needs an SSH image"},
        )
    spec: dict[str, Any] = {
        "command": launch.LAUNCHER, "env": dict(data.env), "mode": "single",
        "node_count": 1, "procs_per_node": 1, "resources": dict(per_node),
        "request": {k: int(per_node.get(k) or 0) for k in REQUEST_KEYS},
        "restart": RestartPolicy().model_dump(), "image": image.id, "cache": True,
        "ide": data.ide,
    }  # fmt: skip
    if data.mounts:
        requests = [m.model_dump() for m in data.mounts]
        spec["mount_requests"] = requests
        spec["mounts"] = mounts.resolve(
            session, actor, home=settings.home, cache_dir=settings.dataset_cache_dir,
            workload_kind=KIND, requests=requests,
        )  # fmt: skip
    check_admissible(session, pool=pool, ws=ws, spec=spec, workload_type=IDE)
    now = utcnow()
    workload = Workload(
        tenant_id=actor.tenant_id, workspace_id=ws.id, created_by=actor.id, kind=KIND,
        name=data.name, description=data.description, source=source, spec=spec,
        quota_id=pool.row.id if pool.kind == "quota" else None,
        queue_id=pool.row.id if pool.kind == "queue" else None,
        state=State.STOPPED.value, state_reason="created; not started", submitted_at=now,
        created_at=now,
    )  # fmt: skip
    session.add(workload)
    session.flush()
    session.add(
        DevEnvironment(
            workload_id=workload.id,
            ide=data.ide,
            secret=secrets.token_urlsafe(32),
            runtime_id=image.id,
            ssh_enabled=bool(keys),
            ssh_keys=keys,
            idle_minutes=data.idle_minutes,
            stop_at=data.stop_at,
        )
    )
    do_note(
        session, workload, "info",
        f"created by {actor.user.username} via {source}: {data.ide} on {images.label(image)}, "
        f"{pool.label}",
        now=now,
    )  # fmt: skip
    session.flush()
    note_target("devenv", workload.id, workload.name, workspace_id=ws.id)
    return workload


# --- start / stop -------------------------------------------------------------------------


def do_start(
    session: Session, *, access: JobAccess, settings: Settings, sandboxed: bool
) -> Workload:
    """Start a *Not started* environment: ports, the IDE plan (and sshd), then the scheduler
    admits it. ``sandboxed``: the backend runs workloads in its sandbox, which SSH needs."""
    workload = access.job
    env = env_row(session, workload)
    note_target("devenv", workload.id, workload.name, state=workload.state)
    _refuse_if_deleting(workload, env)
    state = State(workload.state)
    if state not in TERMINAL:
        raise Conflict(
            f"dev environment '{workload.name}' is already {_status(state).lower()}; "
            "nothing to start",
            fields={"state": state.value},
        )
    transition(state, "restart")
    pool = pool_of(session, workload.quota_id, workload.queue_id)
    if pool is None:
        raise Conflict(
            f"the quota or queue dev environment '{workload.name}' drew from no longer "
            "exists: create a new environment in another one",
            fields={"quota_id" if workload.quota_id else "queue_id": "no longer exists"},
        )
    check_admissible(session, pool=pool, ws=access.workspace, spec=workload.spec, workload_type=IDE)
    exe = code_server_path(settings)
    if env.ide == "code-server" and exe is None:
        raise Conflict(
            "code-server is not installed on this server any more: an operator runs "
            "scripts/code-server.sh",
            fields={"ide": "code-server not installed"},
        )
    if env.ssh_enabled:
        check_ssh_possible(sandboxed=sandboxed)
    ports = allocate_ports(session, settings, count=2 if env.ssh_enabled else 1)
    env.ide_port = ports[0]
    env.ssh_port = ports[1] if env.ssh_enabled else None
    sshd_argv: list[str] | None = None
    spec = {k: v for k, v in workload.spec.items() if k != "sandbox"}
    if env.ssh_port is not None:
        files = sshd.prepare(ssh_dir(settings.home, workload.id), keys=env.ssh_keys)
        sshd_argv = sshd.command(files, port=env.ssh_port)  # 0.0.0.0: users connect from afar
        spec["sandbox"] = sshd.sandbox_needs(files).as_spec()
    image = session.get(Image, env.runtime_id) if env.runtime_id else None
    layer_dirs = images.layer_paths(session, image) if image is not None else []
    spec["image_layers"], spec["software"] = [str(p) for p in layer_dirs], True
    plan = launch.plan(
        workload_id=workload.id, ide=env.ide, port=env.ide_port, secret=env.secret,
        code_server_exe=exe, sshd=sshd_argv, image_layers=len(layer_dirs),
    )  # fmt: skip
    workload.spec = {**spec, "launch_env": plan.env}
    now = utcnow()
    env.last_activity_at, env.last_activity_source = now, "start"
    env.idle_warned_at = None
    if env.stopped_at is not None and env.cache_purged_at is None:
        do_note(session, workload, "info", "/work/cache kept since the last stop is restored")
    env.stopped_at = env.cache_purge_notified_at = env.cache_purged_at = None
    workload.submitted_at = now
    do_transition(
        session, workload, "restart",
        message=f"started by {access.actor.user.username}: waiting for resources",
    )  # fmt: skip
    return workload


def do_stop(session: Session, *, workload: Workload, who: str, reason: str = "") -> Workload:
    """Stop: at once while waiting; through the reconciler once it holds resources."""
    state = State(workload.state)
    note_target("devenv", workload.id, workload.name, state=state.value)
    message = f"stopped by {who}" + (f": {reason}" if reason else "")
    if state in TERMINAL:
        raise Conflict(
            f"dev environment '{workload.name}' is {_status(state).lower()}; nothing to stop",
            fields={"state": state.value},
        )
    if state is State.STOPPING:
        raise Conflict(
            f"dev environment '{workload.name}' is already stopping",
            fields={"state": state.value},
        )
    stop_workload(session, workload, message=message)
    return workload


def do_delete(session: Session, *, access: JobAccess, home: Path) -> Removal | None:
    """Delete now when not running; otherwise stop it and finish the deletion once stopped.

    Returns what to remove after the commit, or None when the deletion is pending.
    """
    workload = access.job
    env = env_row(session, workload)
    note_target("devenv", workload.id, workload.name, state=workload.state)
    _refuse_if_deleting(workload, env)
    state = State(workload.state)
    if state not in TERMINAL:
        env.delete_requested_at = utcnow()
        do_stop(session, workload=workload, who=access.actor.user.username, reason="deleting")
        if State(workload.state) not in TERMINAL:
            return None
    return finish_delete(session, workload, home=home)


def finish_delete(session: Session, workload: Workload, *, home: Path) -> Removal:
    handles = run_handles(session, workload)
    session.delete(workload)  # the environment row, runs and events go with it (CASCADE)
    session.flush()
    return Removal(handles=handles, directory=env_dir(home, workload.id))


def _parse_keys(text: str) -> list[str]:
    if not text.strip():
        return []
    return ssh_keys.parse_keys(text)


def check_ssh_possible(*, sandboxed: bool) -> None:
    """SSH runs an sshd in the environment's sandbox, from the host's OpenSSH."""
    if not sandboxed:
        raise Conflict(
            "SSH needs the sandbox (bubblewrap); this server runs workloads unsandboxed: an "
            "operator installs bubblewrap (apt-get install bubblewrap) and restarts the "
            "server, or use the terminal in JupyterLab or VS Code",
            fields={"ssh_keys": "SSH needs the sandbox"},
        )
    missing = sshd.missing_programs()
    if missing:
        raise Conflict(
            f"SSH needs OpenSSH on this server, and {' and '.join(missing)} is missing: an "
            "operator installs it, or use the terminal in JupyterLab or VS Code",
            fields={"ssh_keys": "OpenSSH not installed"},
        )


def _refuse_if_deleting(workload: Workload, env: DevEnvironment) -> None:
    if env.delete_requested_at is not None:
        raise Conflict(
            f"dev environment '{workload.name}' is being deleted",
            fields={"state": "deleting"},
        )


def _status(state: State) -> str:
    return status(state.value)


# --- schedule, keep alive, ports ----------------------------------------------------------


def do_schedule(session: Session, *, access: JobAccess, data: ScheduleUpdate) -> Workload:
    workload = access.job
    env = env_row(session, workload)
    note_target("devenv", workload.id, workload.name)
    fields = data.model_fields_set
    if "idle_minutes" in fields:
        check_idle_setting(policy_of(session, workload.workspace_id), data.idle_minutes)
        env.idle_minutes = data.idle_minutes
        env.idle_warned_at = None
    if "stop_at" in fields:
        check_stop_at(data.stop_at)
        env.stop_at = data.stop_at
    return workload


def do_keep_alive(session: Session, *, access: JobAccess) -> Workload:
    """ "Keep alive": counts as activity now, cancelling a pending idle stop."""
    workload = access.job
    env = env_row(session, workload)
    note_target("devenv", workload.id, workload.name)
    policy = policy_of(session, workload.workspace_id)
    if policy is not None and policy.locked:
        raise Conflict(
            f"the workspace's idle policy ({policy.idle_minutes} min) is locked by an admin: "
            "keep the environment busy instead (open it, run something), or ask an admin",
            fields={"idle": "locked policy"},
        )
    if State(workload.state) is not State.RUNNING:
        raise Conflict(
            f"dev environment '{workload.name}' is not running; only a running one is kept alive",
            fields={"state": workload.state},
        )
    env.last_activity_at, env.last_activity_source = utcnow(), "keep alive"
    env.idle_warned_at = None
    do_note(session, workload, "info", f"kept alive by {access.actor.user.username}")
    return workload


def do_expose_port(session: Session, *, access: JobAccess, port: int) -> Workload:
    """Expose an HTTP port (spec 04 §6.1): only while running; servers bind 0.0.0.0."""
    workload = access.job
    env = env_row(session, workload)
    note_target("devenv", workload.id, workload.name, port=port)
    if State(workload.state) is not State.RUNNING:
        raise Conflict(
            f"ports can only be added to a running environment; '{workload.name}' is "
            f"{_status(State(workload.state)).lower()}",
            fields={"port": "environment not running"},
        )
    if port in (env.ide_port, env.ssh_port):
        raise ValidationFailed.field(
            "port", f"{port} is the environment's own IDE or SSH port: expose your server's port"
        )
    if port in env.exposed_ports:
        raise Conflict(f"port {port} is already exposed", fields={"port": "already exposed"})
    if len(env.exposed_ports) >= MAX_EXPOSED_PORTS:
        raise Conflict(
            f"at most {MAX_EXPOSED_PORTS} ports per environment: remove one first",
            fields={"port": f"≤ {MAX_EXPOSED_PORTS} ports"},
        )
    env.exposed_ports = sorted([*env.exposed_ports, port])
    return workload


def do_unexpose_port(session: Session, *, access: JobAccess, port: int) -> Workload:
    workload = access.job
    env = env_row(session, workload)
    note_target("devenv", workload.id, workload.name, port=port)
    if port not in env.exposed_ports:
        raise Conflict(f"port {port} is not exposed", fields={"port": "not exposed"})
    env.exposed_ports = [p for p in env.exposed_ports if p != port]
    return workload


# --- ports --------------------------------------------------------------------------------


def allocate_ports(session: Session, settings: Settings, *, count: int) -> list[int]:
    """``count`` ports from the configured range that no live environment holds and that
    nothing else on this host listens on."""
    live = [s.value for s in State if s not in TERMINAL]
    held: set[int] = set()
    rows = session.execute(
        select(DevEnvironment.ide_port, DevEnvironment.ssh_port)
        .join(Workload, Workload.id == DevEnvironment.workload_id)
        .where(Workload.state.in_(live))
    )
    for ide_port, ssh_port in rows:
        held.update(p for p in (ide_port, ssh_port) if p)
    found: list[int] = []
    low, high = settings.devenv_port_min, settings.devenv_port_max
    # From a random point of the range: a port freed a moment ago (its IDE still shutting
    # down) or probed by another server on the host at the same time is rarely picked again.
    start = secrets.randbelow(high - low + 1)
    for offset in range(high - low + 1):
        port = low + (start + offset) % (high - low + 1)
        if port not in held and port_is_free(port):
            found.append(port)
            if len(found) == count:
                return found
    raise Conflict(
        f"no free port left in {settings.devenv_port_min}-{settings.devenv_port_max} for a dev "
        "environment: stop an environment, or an operator widens HANGAR_DEVENV_PORT_MIN/MAX",
        fields={"ports": "range exhausted"},
    )


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("0.0.0.0", port))  # noqa: S104 - a bind test, closed at once
        except OSError:
            return False
    return True
