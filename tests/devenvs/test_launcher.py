"""The dev-environment launcher's path translation for unsandboxed runs."""

from __future__ import annotations

from hangar.runtimes.devenv import localise


def test_contract_paths_move_to_the_view_directory_unsandboxed() -> None:
    view = "/srv/hangar/runs/r1/work"
    plan = {
        "ide": ["python", "--ServerApp.root_dir=/work/home", "/work/home", "--port=1"],
        "seed": {"/work/home/.config/x.json": "{}"},
    }
    assert localise(plan, view) == {
        "ide": ["python", f"--ServerApp.root_dir={view}/home", f"{view}/home", "--port=1"],
        "seed": {f"{view}/home/.config/x.json": "{}"},
    }
    assert localise("/work", view) == view
    assert localise("/workspace/x", view) == "/workspace/x"  # not under /work
    assert localise("--flag=/workers", view) == "--flag=/workers"


def test_sandboxed_nothing_changes() -> None:
    plan = {"ide": ["--ServerApp.root_dir=/work/home"]}
    assert localise(plan, "/work") == plan
    assert localise(plan, None) == plan
