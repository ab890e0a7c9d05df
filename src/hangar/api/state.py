"""Process-wide objects the app factory builds and dependencies read from ``app.state``."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from hangar.backends.base import Backend
from hangar.config import Settings


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    backend: Backend
