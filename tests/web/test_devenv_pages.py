"""Console: the Dev environments pages (list with IDE tabs, create form, detail with SSH,
idle settings, ports, cache, events and monitoring; start / stop / delete / keep alive).

The app is real (routes, gates, services, database) but its loops stay still, so a started
environment waits for the scheduler and nothing is launched: states move only when a test
drives them, which keeps these tests fast. The IDE itself is covered by the browser tests.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from hangar.db.base import utcnow
from hangar.db.engine import transaction
from hangar.devenvs.orm import DevEnvironment, ResourceSample
from tests.jobs.support import drive, quiet_hangar
from tests.support import ADMIN_PASSWORD, USER_PASSWORD, Hangar
from tests.web.console import Console, logged_in

DEVENVS = "/api/v1/devenvs"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGyvUztlvhGk7wHresPHdkGl5YQjxWS4+Ye3k+Jr4Vuk dev@laptop"
FORM = {
    "name": "web-lab", "description": "from the console", "ide": "jupyterlab",
    "resource_kind": "custom", "cpu_cores": "0.5", "mem_gib": "0.25", "gpus": "0",
    "env": "LR=0.1\n# a comment\nEPOCHS=3", "idle_minutes": "30",
}  # fmt: skip


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Hangar]:
    with quiet_hangar(tmp_path / "home", f"sqlite:///{tmp_path}/h.db") as hangar:
        yield hangar


@pytest.fixture
def admin(h: Hangar) -> Console:
    return logged_in(h, "admin", ADMIN_PASSWORD)


def create_env(h: Hangar, name: str = "api-lab", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "workspace_id": h.default_workspace()["id"], "name": name,
        "resources": {"cpu_cores": 0.5, "mem_gib": 0.25},
    }  # fmt: skip
    body.update(changes)
    env: dict[str, Any] = h.admin.call("POST", DEVENVS, 201, json=body)
    return env


def row_action(console: Console, method: str, env_id: str, path: str = "") -> httpx.Response:
    """A list-row button: htmx names the row it swaps in ``HX-Target``."""
    if not console.csrf:
        console.get("/devenvs")
    headers = {"HX-Request": "true", "X-CSRF-Token": console.csrf, "HX-Target": f"env-{env_id}"}
    return console.client.request(method, f"/devenvs/{env_id}{path}", headers=headers)


def test_an_empty_list_with_tabs_and_the_nav_entry(admin: Console) -> None:
    page = admin.get("/devenvs")
    assert page.status_code == 200, page.text
    assert "No dev environments you can see here yet." in page.text
    nav = page.text.split('<nav aria-label="Main">', 1)[1].split("</nav>", 1)[0]
    assert nav.index('href="/devenvs"') < nav.index('href="/jobs"')
    assert 'aria-current="page">Dev environments' in nav
    assert "&amp;ide=jupyterlab" in page.text and ">VS Code</a>" in page.text
    vscode = admin.get("/devenvs?ide=code-server")
    assert "New VS Code environment" in vscode.text and "ide=code-server" in vscode.text


def test_create_from_the_form_then_it_is_listed_not_started(h: Hangar, admin: Console) -> None:
    ws = h.default_workspace()
    form_page = admin.get(f"/devenvs/new?workspace_id={ws['id']}")
    assert form_page.status_code == 200, form_page.text
    assert 'id="create-devenv-form"' in form_page.text
    assert "python-3.11-jupyterlab:V1" in form_page.text
    assert "SSH logs in as root" in form_page.text and "cannot be turned off" in form_page.text
    made = admin.htmx("POST", "/devenvs", {**FORM, "workspace_id": ws["id"]},
                      form="create-devenv-form")  # fmt: skip
    assert made.status_code == 200, made.text
    env_id = made.headers["hx-redirect"].rsplit("/", 1)[1]
    env = h.admin.call("GET", f"{DEVENVS}/{env_id}")
    assert env["status"] == "Not started" and env["env"] == {"LR": "0.1", "EPOCHS": "3"}
    assert not env["ssh"]["enabled"] and env["idle"]["idle_minutes"] == 30
    listing = admin.get("/devenvs")
    row = re.search(rf'<tr id="env-{env_id}".*?</tr>', listing.text, re.S)
    assert row is not None and "web-lab" in row.group(0) and "Not started" in row.group(0)
    assert "JupyterLab" in row.group(0) and "admin" in row.group(0)
    assert f'hx-post="/devenvs/{env_id}/start"' in row.group(0)
    assert "Open</a>" not in row.group(0) and "hx-trigger" not in row.group(0)
    assert f'id="env-{env_id}"' not in admin.get("/devenvs?ide=code-server").text
    audit = h.admin.call("GET", "/api/v1/audit", params={"action": "devenv.create"})
    assert audit["items"][0]["result"] == "success"


def test_bad_input_lands_in_the_form_which_keeps_what_was_typed(h: Hangar, admin: Console) -> None:
    ws = h.default_workspace()

    def post(**changes: str) -> httpx.Response:
        data = {**FORM, "workspace_id": ws["id"], **changes}
        return admin.htmx("POST", "/devenvs", data, form="create-devenv-form")

    bad_name = post(name="bad name!")
    assert bad_name.status_code == 422
    # Retargeted into the form's error box: the form itself is not swapped, so every box
    # keeps what the user typed.
    assert bad_name.headers["hx-retarget"] == "#create-devenv-form-errors"
    assert bad_name.headers["hx-reswap"] == "innerHTML" and "<html" not in bad_name.text
    assert "name" in bad_name.text and "rule N1" in bad_name.text
    bad_key = post(ssh_keys=f"{KEY}; ssh-rsa not-base64!")
    assert bad_key.status_code == 422, bad_key.text
    assert bad_key.headers["hx-retarget"] == "#create-devenv-form-errors"
    assert "ssh_keys" in bad_key.text
    bad_time = post(stop_at="tomorrow")
    assert "stop_at: &#39;tomorrow&#39; is not a date and time" in bad_time.text
    assert h.admin.call("GET", DEVENVS)["total"] == 0


def test_start_stop_and_delete_from_the_list_and_the_page(h: Hangar, admin: Console) -> None:
    env = create_env(h)
    started = row_action(admin, "POST", env["id"], "/start")
    assert started.status_code == 200, started.text
    assert started.text.lstrip().startswith(f'<tr id="env-{env["id"]}"')
    assert "Starting" in started.text and 'hx-trigger="every 3s"' in started.text
    assert "is starting" in started.text and 'hx-swap-oob="true"' in started.text
    assert "Starting" in admin.get(f"/devenvs/{env['id']}/row").text
    page = admin.get(f"/devenvs/{env['id']}")
    assert 'hx-trigger="every 3s"' in page.text
    assert f'hx-post="/devenvs/{env["id"]}/stop"' in page.text
    stopped = admin.htmx("POST", f"/devenvs/{env['id']}/stop")
    assert stopped.status_code == 200, stopped.text
    assert '<section id="devenv"' in stopped.text and "Not started" in stopped.text
    assert "is stopping" in stopped.text
    gone = admin.htmx("DELETE", f"/devenvs/{env['id']}")
    assert gone.headers["hx-redirect"] == f"/devenvs?workspace_id={env['workspace_id']}"
    assert h.admin.get(f"{DEVENVS}/{env['id']}").status_code == 404
    # From the list: the row disappears (an empty swap) and a message shows.
    other = create_env(h, "api-lab-2")
    removed = row_action(admin, "DELETE", other["id"])
    assert removed.status_code == 200 and "<tr" not in removed.text
    assert "Deleted &#39;api-lab-2&#39;." in removed.text
    assert admin.get(f"/devenvs/{other['id']}/row").text == ""
    assert admin.get(f"/devenvs/{other['id']}").status_code == 404
    actions = {
        a["action"]
        for a in h.admin.call("GET", "/api/v1/audit", params={"action": "devenv."})["items"]
    }
    assert {"devenv.start", "devenv.stop", "devenv.delete"} <= actions


def test_a_running_environment_detail_settings_ports_and_monitoring(
    h: Hangar, admin: Console
) -> None:
    env = create_env(h, idle_minutes=30)
    admin.htmx("POST", f"/devenvs/{env['id']}/start")
    drive(h, env["id"], "queue", "admit", "launched")  # what the scheduler and reconciler do
    now = utcnow()
    with transaction(h.state.sessions) as session:
        row = session.get(DevEnvironment, env["id"])
        assert row is not None  # SSH as a start with keys leaves it (the sshd is not run here)
        row.ssh_enabled, row.ssh_keys, row.ssh_port = True, [KEY], 42999
        for i, cpu in enumerate([10.0, 55.0, 30.0]):
            values = {
                "at": now.isoformat(), "cpu_seconds": 1.0, "cpu_cores": cpu / 200,
                "cpu_percent": cpu, "mem_bytes": (i + 1) * 2**27, "mem_percent": 12.5 * (i + 1),
                "gpu_util_percent": None, "gpu_mem_bytes": None,
            }  # fmt: skip
            at = now - timedelta(minutes=30 - 10 * i)
            session.add(ResourceSample(workload_id=env["id"], at=at, values=values))
    page = admin.get(f"/devenvs/{env['id']}")
    assert page.status_code == 200, page.text
    text = page.text
    assert f'href="/dev/{env["id"]}/"' in text and 'target="_blank"' in text
    assert "ssh -i &lt;private key&gt; root@127.0.0.1 -p 42999" in text and "SHA256:" in text
    assert KEY.split()[1] not in text, "keys are shown masked"
    assert f'hx-post="/devenvs/{env["id"]}/keep-alive"' in text
    assert f'href="/devenvs/{env["id"]}/train"' in text
    assert 'id="monitor"' in text and 'hx-trigger="every 15s"' in text
    assert "3 samples" in text and text.count("<polyline") == 2  # CPU and memory; no GPU
    assert "30%" in text and "55%" in text and "384 MiB" in text
    monitor = admin.get(f"/devenvs/{env['id']}/monitor-section")
    assert monitor.text.lstrip().startswith('<section class="card" id="monitor"')

    kept = admin.htmx("POST", f"/devenvs/{env['id']}/keep-alive")
    assert kept.status_code == 200 and "(keep alive)" in kept.text
    future = (now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    saved = admin.htmx("POST", f"/devenvs/{env['id']}/schedule",
                       {"idle_minutes": "45", "stop_at": future}, form="schedule-form")  # fmt: skip
    assert saved.status_code == 200, saved.text
    assert "45 minutes" in saved.text and 'id="devenv-settings" hx-swap-oob="true"' in saved.text
    assert f'value="{future}"' in saved.text
    too_short = admin.htmx("POST", f"/devenvs/{env['id']}/schedule", {"idle_minutes": "2"},
                           form="schedule-form")  # fmt: skip
    assert too_short.status_code == 422
    assert too_short.headers["hx-retarget"] == "#schedule-form-errors"
    exposed = admin.htmx("POST", f"/devenvs/{env['id']}/ports", {"port": "8080"},
                         form="expose-port-form")  # fmt: skip
    assert exposed.status_code == 200, exposed.text
    assert f'href="/dev/{env["id"]}/ports/8080/"' in exposed.text
    low = admin.htmx("POST", f"/devenvs/{env['id']}/ports", {"port": "80"}, form="expose-port-form")
    assert low.status_code == 422 and low.headers["hx-retarget"] == "#expose-port-form-errors"
    unexposed = admin.htmx("DELETE", f"/devenvs/{env['id']}/ports/8080")
    assert "No port exposed." in unexposed.text

    train = admin.get(f"/devenvs/{env['id']}/train")
    assert train.status_code == 200, train.text
    assert 'id="create-job-form"' in train.text and 'value="api-lab-train' in train.text
    assert "cd /work/home &amp;&amp; python train.py" in train.text
    assert 'id="job-cpu" name="cpu_cores" inputmode="decimal" value="0.5"' in train.text


def test_a_user_without_workspaces_gets_a_page_not_an_error(h: Hangar) -> None:
    h.user_api("loner")
    page = logged_in(h, "loner", USER_PASSWORD).get("/devenvs")
    assert page.status_code == 200 and "not a member of any workspace" in page.text
