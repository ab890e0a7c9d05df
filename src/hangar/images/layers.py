"""Image layers on the local backend: where they live, how a workload sees them, and how
"make image" copies one out of a dev environment (docs/devenvs.md "Images").

A custom image is a chain of layers over the preset image (the server's environment). A
layer directory holds ``site-packages/`` and ``bin/``: the packages and scripts a user
installed into a dev environment's software layer (:mod:`hangar.runtimes.software`), and
nothing else: not ``/work/home``, not ``/work/cache``, not mounts (spec 03 §1.7).

In a workload, layer *i* (0 = newest) is shown read-only at ``/work/image/<i>``. A dev
environment adds the layers to its software layer's search path (so its own installs come
first); any other workload gets them on ``PYTHONPATH`` and ``PATH``. ``.pth`` files inside a
layer are honoured only in dev environments.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from hangar.runtimes.software import layer_site_packages

LAYERS_DIR = "image"  # under the contract root: /work/image/<i>
SOFTWARE_DIR = "software"  # a dev environment's software layer: /work/software
PARTIAL_SUFFIX = ".partial"
SHEBANG_PYTHON = b"#!/usr/bin/env python3\n"
SKIPPED_SCRIPTS = frozenset({"python", "python3", "pip", "pip3"})


def layer_target(work_root: PurePosixPath | Path, index: int) -> str:
    return str(PurePosixPath(work_root) / LAYERS_DIR / str(index))


def software_host_dir(home: Path, workload_id: str) -> Path:
    """The host directory of a dev environment's software layer (kept until deletion)."""
    return home / "devenvs" / workload_id / SOFTWARE_DIR


def image_host_dir(home: Path, image_id: str) -> Path:
    return home / "images" / image_id


def workload_environment(work_root: str, layer_count: int, environ: dict[str, str]) -> None:
    """``PYTHONPATH`` and ``PATH`` for a workload that is not a dev environment."""
    targets = [layer_target(PurePosixPath(work_root), i) for i in range(layer_count)]
    if not targets:
        return
    packages = [f"{t}/site-packages" for t in targets]
    environ["PYTHONPATH"] = ":".join([*packages, *filter(None, [environ.get("PYTHONPATH")])])
    environ["PATH"] = ":".join([*(f"{t}/bin" for t in targets), environ.get("PATH", "")])


@dataclass(frozen=True, kw_only=True)
class LayerSize:
    files: int
    bytes: int


def snapshot(software: Path, dest: Path) -> LayerSize:
    """Copy a software layer's packages and scripts into ``dest`` (built beside it and
    renamed into place, so a crash leaves no half layer under the final name)."""
    source_packages = layer_site_packages(software)
    if not source_packages.is_dir():
        raise FileNotFoundError(f"{software} has no software layer (never started?)")
    partial = dest.with_name(dest.name + PARTIAL_SUFFIX)
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    shutil.copytree(
        source_packages,
        partial / "site-packages",
        symlinks=True,
        ignore=shutil.ignore_patterns("__pycache__", "_hangar_image.pth"),
    )
    _copy_scripts(software / "bin", partial / "bin")
    size = _measure(partial)
    shutil.rmtree(dest, ignore_errors=True)
    partial.replace(dest)
    return size


def discard(dest: Path) -> None:
    """Remove a layer and any half-built copy of it."""
    for path in (dest, dest.with_name(dest.name + PARTIAL_SUFFIX)):
        shutil.rmtree(path, ignore_errors=True)


def _copy_scripts(source: Path, dest: Path) -> None:
    """Console scripts pip wrote, their shebang made independent of the layer's path."""
    dest.mkdir()
    if not source.is_dir():
        return
    for path in sorted(source.iterdir()):
        if path.name in SKIPPED_SCRIPTS or path.name.startswith(("activate", "Activate")):
            continue
        if path.name.startswith("python") or path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        first, sep, rest = data.partition(b"\n")
        if first.startswith(b"#!") and b"python" in first:
            data = SHEBANG_PYTHON + rest if sep else SHEBANG_PYTHON
        target = dest / path.name
        target.write_bytes(data)
        target.chmod(path.stat().st_mode & 0o777)


def _measure(root: Path) -> LayerSize:
    files = total = 0
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            files += 1
            total += (Path(dirpath) / name).lstat().st_size
    return LayerSize(files=files, bytes=total)
