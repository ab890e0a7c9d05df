"""Liveness and readiness: the process is up, and the database answers at the right schema."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy import text

from hangar import __version__
from hangar.api.deps import app_state
from hangar.api.state import AppState
from hangar.db.migrate import current_revision, head_revision

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(state: Annotated[AppState, Depends(app_state)]) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        with state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        revision = current_revision(state.engine)
        checks["database"] = "ok" if revision == head_revision() else f"schema at {revision}"
    except Exception as exc:  # health must report, never raise
        checks["database"] = f"unreachable: {type(exc).__name__}"
    healthy = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if healthy else "degraded", "version": __version__, "checks": checks},
        status_code=200 if healthy else 503,
    )
