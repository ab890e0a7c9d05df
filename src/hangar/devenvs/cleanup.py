"""After a deletion commits: forget the backend runs and remove the environment's files.

The user's ``/work/home`` and the workspace share are not the environment's: they stay.
"""

from __future__ import annotations

import logging
import shutil

from hangar.backends.base import Backend
from hangar.devenvs.service import Removal
from hangar.jobs.logs import forget

log = logging.getLogger("hangar.devenvs")


def remove(backend: Backend, removal: Removal) -> None:
    forget(backend, removal.handles)
    if removal.directory.exists():
        shutil.rmtree(removal.directory, ignore_errors=True)
        log.info("removed %s", removal.directory)
