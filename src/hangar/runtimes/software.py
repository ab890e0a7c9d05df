"""A dev environment's software layer: the Python environment its user installs into.

Runs inside the environment (called by :mod:`hangar.runtimes.devenv` before the IDE starts).
The layer is a virtual environment at ``$HANGAR_WORK_DIR/software`` (``/work/software`` in
the sandbox), kept with the environment across stops and starts. Its ``site-packages`` has
one ``.pth`` file, rewritten at every start, that adds the environment's image layers
(newest first) and then the server's own environment (the preset image: JupyterLab, the
Hangar helpers, PyTorch where installed) with :func:`site.addsitedir`, so their own ``.pth``
files work too. What the user installs (``pip install`` in a terminal or a notebook) lands in
the layer and shadows the same package in the image; "make image" copies the layer out
(:mod:`hangar.images.layers`).

:func:`activate` puts the layer first on ``PATH`` for the IDE and every process under it,
and points Jupyter at the server environment's data (JupyterLab's built application lives
there, not in the layer).
"""

from __future__ import annotations

import os
import site
import sys
import sysconfig
import venv
from pathlib import Path

PTH_NAME = "_hangar_image.pth"
PIP_SHIM = '#!/bin/sh\nexec "{python}" -m pip "$@"\n'


def layer_site_packages(prefix: Path) -> Path:
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return prefix / "lib" / version / "site-packages"


def server_site_dirs() -> list[str]:
    """The server environment's site-packages, as this (the server's) interpreter has them."""
    return list(dict.fromkeys(site.getsitepackages()))


def pth_line(site_dirs: list[str]) -> str:
    """One ``import`` line (``.pth`` files run those) adding each directory in order."""
    return f"import site; list(map(site.addsitedir, {site_dirs!r}))\n"


def ensure(prefix: Path, layers: list[str]) -> Path:
    """Create the layer if it is missing and rewrite its ``.pth``; returns its ``python``."""
    python = prefix / "bin" / "python"
    if not (prefix / "pyvenv.cfg").is_file() or not python.exists():
        venv.EnvBuilder(with_pip=False, symlinks=True, clear=False).create(prefix)
    packages = layer_site_packages(prefix)
    packages.mkdir(parents=True, exist_ok=True)
    existing = [d for d in layers if Path(d).is_dir()]
    (packages / PTH_NAME).write_text(pth_line([*existing, *server_site_dirs()]))
    pip = prefix / "bin" / "pip"
    if not pip.exists():  # the server's pip, installing into this layer
        pip.write_text(PIP_SHIM.format(python=python))
        pip.chmod(0o755)
    return python


def activate(prefix: Path, environ: dict[str, str] | os._Environ[str]) -> None:
    """Point ``PATH``, ``VIRTUAL_ENV`` and Jupyter's search paths at the layer."""
    environ["VIRTUAL_ENV"] = str(prefix)
    environ["PATH"] = f"{prefix / 'bin'}:{environ.get('PATH', '')}".rstrip(":")
    server_data = str(Path(sysconfig.get_path("data")) / "share" / "jupyter")
    environ["JUPYTER_PATH"] = _join(environ.get("JUPYTER_PATH"), server_data)
    environ.setdefault("JUPYTERLAB_DIR", str(Path(server_data) / "lab"))
    server_config = str(Path(sysconfig.get_path("data")) / "etc" / "jupyter")
    environ["JUPYTER_CONFIG_PATH"] = _join(environ.get("JUPYTER_CONFIG_PATH"), server_config)
    environ.pop("PYTHONHOME", None)


def _join(current: str | None, extra: str) -> str:
    return f"{current}:{extra}" if current else extra
