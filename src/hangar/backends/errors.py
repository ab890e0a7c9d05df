"""Errors raised by backends. All are :class:`hangar.errors.HangarError` subclasses."""

from __future__ import annotations

from hangar.errors import Conflict, HangarError, NotFound


class BackendError(HangarError):
    """The backend could not do what was asked for a reason outside the request (I/O, host)."""

    code = "backend_error"
    http_status = 503


class LaunchRejected(HangarError):
    """The run spec or placement cannot be honoured by this backend; the message names the rule."""

    code = "launch_rejected"
    http_status = 422


class RunConflict(Conflict):
    """The run exists in a state that forbids the request (e.g. forget() on a running run)."""

    code = "run_conflict"


class RunNotFound(NotFound):
    """No such run (or node of a run) is known to this backend."""

    code = "run_not_found"
