"""The dev-environment loop on real JupyterLab environments (spec 03 §2, decisions C2, C7).

Environments start through the real scheduler, run reconciler and local backend; the probes
talk to the real JupyterLab. The test drives :class:`DevEnvLoop` with a virtual clock
(``step(now=...)``) so that minutes and days pass at once; the server's own loop is parked
(one pass at start-up, then an hour's sleep) so only the test decides when a pass happens.
Stops then go through the real reconciler, and audit records are read through the API.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hangar.db.base import utcnow
from hangar.db.engine import transaction
from hangar.devenvs.loop import DevEnvLoop
from hangar.devenvs.orm import IdlePolicy
from hangar.tenancy.orm import Workspace
from tests import support
from tests.devenvs.support import (
    DEVENVS,
    env_body,
    run_code,
    start_kernel,
    wait_answering,
    wait_for,
    wait_kernel,
)
from tests.support import Api, Hangar, assert_error, running_hangar

IDLE = 5  # the smallest idle timeout the API accepts
WARNING = 2  # HANGAR_DEVENV_IDLE_WARNING_MINUTES in these tests


@pytest.fixture
def live(tmp_path: Path, db_url: str) -> Iterator[Hangar]:
    settings = support.test_settings(
        tmp_path / "home", db_url, devenv_loop_seconds=3600, devenv_idle_warning_minutes=WARNING
    )
    with running_hangar(settings) as h:
        yield h


def loop_of(h: Hangar) -> DevEnvLoop:
    """A loop over the server's own database, backend and proxy activity, as the app builds it."""
    return DevEnvLoop(
        h.state.sessions, h.state.backend, h.settings, proxy_activity=h.state.activity.get
    )


def running_env(h: Hangar, name: str, **changes: Any) -> dict[str, Any]:
    ws = h.default_workspace()
    env = h.admin.call("POST", DEVENVS, 201, json=env_body(ws["id"], name, start=True, **changes))
    env = wait_for(h.admin, env["id"], "Running", "Failed")
    assert env["status"] == "Running", env["state_reason"]
    wait_answering(h.admin, f"/dev/{env['id']}/api/status")
    return env


def detail(api: Api, env_id: str) -> dict[str, Any]:
    env: dict[str, Any] = api.call("GET", f"{DEVENVS}/{env_id}")
    return env


def alerts(env: dict[str, Any], text: str) -> list[str]:
    return [e["message"] for e in env["events"] if e["kind"] == "alert" and text in e["message"]]


def audit(api: Api, action: str, env_id: str) -> list[dict[str, Any]]:
    page = api.call("GET", "/api/v1/audit", params={"action": action, "target": env_id})
    return list(page["items"])


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def soon() -> datetime:
    return utcnow().replace(microsecond=0)


def test_a_busy_silent_kernel_keeps_it_an_idle_one_is_warned_then_stopped(live: Hangar) -> None:
    h, admin = live, live.admin
    env_id = running_env(h, "busy", idle_minutes=IDLE)["id"]
    loop = loop_of(h)

    # A kernel busy with code that prints nothing: JupyterLab says "busy", nothing else moves.
    kernel = start_kernel(admin, env_id)
    run_code(h.client, admin, env_id, kernel, "import time; time.sleep(600)", until="busy")
    wait_kernel(admin, env_id, kernel, "busy")
    t1 = soon() + timedelta(hours=2)  # the start and every kernel message are 2 h old by then
    loop.step(now=t1)
    env = detail(admin, env_id)
    assert env["status"] == "Running"
    assert env["idle"]["last_activity_source"] == "busy kernel"
    assert at(env["idle"]["last_activity_at"]) == t1
    assert not env["idle"]["warned"] and not alerts(env, "idle for")

    # The kernel goes idle: quiet but before the warning window, nothing happens ...
    admin.call("POST", f"/dev/{env_id}/api/kernels/{kernel}/interrupt", 204)
    wait_kernel(admin, env_id, kernel, "idle")
    loop.step(now=t1 + timedelta(minutes=IDLE - WARNING - 1))
    assert not alerts(detail(admin, env_id), "idle for")
    # ... in the window it warns once, and keeps it running ...
    loop.step(now=t1 + timedelta(minutes=IDLE - WARNING, seconds=30))
    loop.step(now=t1 + timedelta(minutes=IDLE - 1))
    env = detail(admin, env_id)
    assert env["status"] == "Running" and env["idle"]["warned"]
    assert alerts(env, "idle for") == [
        f"idle for {IDLE - WARNING} min: stopping in about {WARNING} min unless it is used or "
        "kept alive"
    ]
    assert not audit(admin, "devenv.auto_stop", env_id)

    # ... and at the timeout it stops it, with the reason in the events and the audit trail.
    loop.step(now=t1 + timedelta(minutes=IDLE, seconds=1))
    env = wait_for(admin, env_id, "Not started")
    reason = f"idle for {IDLE} min (last activity {t1.isoformat()}, busy kernel)"
    assert f"stopped by system (idle shutdown): {reason}" in [e["message"] for e in env["events"]]
    [record] = audit(admin, "devenv.auto_stop", env_id)
    assert record["action"] == "devenv.auto_stop.idle"
    assert (record["username"], record["user_id"], record["level"]) == ("system", None, "warning")
    assert (record["target_type"], record["target_name"]) == ("devenv", "busy")
    assert record["details"] == {"rule": "idle", "reason": reason}

    # Every pass over the running environment stored a monitoring sample of its processes.
    series = admin.call("GET", f"{DEVENVS}/{env_id}/monitor", params={"minutes": 1440})
    assert len(series["at"]) == 5
    assert all(m > 10 * 2**20 for m in series["mem_bytes"])  # JupyterLab and its kernel
    assert series["gpu_util_percent"] == [None] * 5  # no GPU requested


def test_a_scheduled_stop_fires_at_its_time(live: Hangar) -> None:
    h, admin = live, live.admin
    env_id = running_env(h, "sched")["id"]
    loop = loop_of(h)
    schedule = f"{DEVENVS}/{env_id}/schedule"
    past = admin.put(schedule, json={"stop_at": (utcnow() - timedelta(minutes=1)).isoformat()})
    assert "in the past" in assert_error(past, 422)["message"]
    naive = admin.put(schedule, json={"stop_at": "2001-01-01T00:00:00"})  # no zone: UTC
    assert "in the past" in assert_error(naive, 422)["message"]
    stop_at = soon() + timedelta(hours=1)
    env = admin.call("PUT", schedule, json={"stop_at": stop_at.isoformat()})
    assert at(env["idle"]["stop_at"]) == stop_at and env["idle"]["idle_minutes"] is None
    # Without a locked policy, "keep alive" is accepted (and changes nothing about the schedule).
    env = admin.call("POST", f"{DEVENVS}/{env_id}/keep-alive")
    assert env["idle"]["last_activity_source"] == "keep alive"

    loop.step(now=stop_at - timedelta(minutes=1))
    assert detail(admin, env_id)["status"] == "Running"
    loop.step(now=stop_at)
    env = wait_for(admin, env_id, "Not started")
    reason = f"scheduled stop at {stop_at.isoformat(timespec='minutes')}"
    assert f"stopped by system (scheduled stop): {reason}" in [e["message"] for e in env["events"]]
    assert env["idle"]["stop_at"] is None  # fired once; a start later does not stop again
    [record] = audit(admin, "devenv.auto_stop", env_id)
    assert record["action"] == "devenv.auto_stop.scheduled"
    assert record["details"] == {"rule": "scheduled", "reason": reason}


def test_the_cache_is_purged_after_retention_with_a_notice_a_day_before(live: Hangar) -> None:
    h, admin = live, live.admin
    env_id = running_env(h, "cache")["id"]
    loop = loop_of(h)
    cache = h.settings.home / "devenvs" / env_id / "cache"
    kernel = start_kernel(admin, env_id)
    run_code(
        h.client, admin, env_id, kernel,
        "open('/work/cache/c.txt','w').write('cache'); open('/work/home/keep.txt','w').write('k')",
    )  # fmt: skip
    assert (cache / "c.txt").read_text() == "cache"
    admin.call("POST", f"{DEVENVS}/{env_id}/stop")
    wait_for(admin, env_id, "Not started")
    loop.step()  # the first pass after the stop starts the retention clock
    env = detail(admin, env_id)
    stopped = at(env["cache"]["stopped_at"])
    assert at(env["cache"]["purge_at"]) == stopped + timedelta(days=5)
    assert not env["cache"]["purged"]

    loop.step(now=stopped + timedelta(days=4) - timedelta(minutes=1))
    assert not alerts(detail(admin, env_id), "/work/cache")
    for minutes in (1, 2):  # one notice, however many passes see it
        loop.step(now=stopped + timedelta(days=4, minutes=minutes))
    purge_at = (stopped + timedelta(days=5)).isoformat(timespec="minutes")
    assert alerts(detail(admin, env_id), "/work/cache") == [
        f"/work/cache will be purged at {purge_at} unless the environment is started before "
        "then; /work/home is kept"
    ]
    assert (cache / "c.txt").read_text() == "cache"

    loop.step(now=stopped + timedelta(days=5, minutes=1))
    assert not cache.exists()
    env = detail(admin, env_id)
    assert env["cache"]["purged"]
    assert len(alerts(env, "/work/cache purged: the environment was stopped on")) == 1

    # Started again: an empty /work/cache, /work/home as it was, and no "restored" claim.
    admin.call("POST", f"{DEVENVS}/{env_id}/start")
    wait_for(admin, env_id, "Running")
    wait_answering(admin, f"/dev/{env_id}/api/status")
    kernel = start_kernel(admin, env_id)
    out = run_code(
        h.client, admin, env_id, kernel,
        "import os; print(os.listdir('/work/cache'), open('/work/home/keep.txt').read()); "
        "open('/work/cache/d.txt','w').write('again')",
    )  # fmt: skip
    assert out.split() == ["[]", "k"]
    env = detail(admin, env_id)
    assert not [e for e in env["events"] if "restored" in e["message"]]

    # A second stop starts a new retention period: the first purge does not end the clock.
    admin.call("POST", f"{DEVENVS}/{env_id}/stop")
    wait_for(admin, env_id, "Not started")
    loop.step()
    env = detail(admin, env_id)
    assert env["cache"]["stopped_at"] is not None and not env["cache"]["purged"]
    again = at(env["cache"]["stopped_at"])
    assert again > stopped
    loop.step(now=again + timedelta(days=5, minutes=1))
    assert not cache.exists()
    assert detail(admin, env_id)["cache"]["purged"]


def test_a_locked_idle_policy_binds_the_timeout_and_refuses_keep_alive(live: Hangar) -> None:
    h, admin = live, live.admin
    ws_id = h.default_workspace()["id"]
    # No API sets idle policies yet: the admin's row goes straight into the database.
    with transaction(h.state.sessions) as session:
        ws = session.get(Workspace, ws_id)
        assert ws is not None
        session.add(
            IdlePolicy(tenant_id=ws.tenant_id, workspace_id=ws_id, idle_minutes=IDLE, locked=True)
        )
    longer = admin.post(DEVENVS, json=env_body(ws_id, "locked", idle_minutes=IDLE + 25))
    assert f"locked at {IDLE} minutes" in assert_error(longer, 409)["message"]

    env = running_env(h, "locked")
    env_id = env["id"]
    assert (env["idle"]["idle_minutes"], env["idle"]["locked"]) == (IDLE, True)
    keep = assert_error(admin.post(f"{DEVENVS}/{env_id}/keep-alive"), 409)
    assert "locked by an admin" in keep["message"]
    assert "keep the environment busy" in keep["message"]
    schedule = f"{DEVENVS}/{env_id}/schedule"
    for minutes in (IDLE + 1, None):  # neither longer nor off
        refused = admin.put(schedule, json={"idle_minutes": minutes})
        assert f"locked at {IDLE} minutes" in assert_error(refused, 409)["message"]

    # The loop applies the policy's timeout to an environment that set none itself.
    last = at(detail(admin, env_id)["idle"]["last_activity_at"])
    loop = loop_of(h)
    loop.step(now=max(last, soon()) + timedelta(minutes=IDLE, seconds=1))
    wait_for(admin, env_id, "Not started")
    [record] = audit(admin, "devenv.auto_stop.idle", env_id)
    assert record["details"]["reason"].startswith(f"idle for {IDLE} min (last activity ")
