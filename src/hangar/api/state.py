"""Process-wide objects the app factory builds and dependencies read from ``app.state``."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

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
    #: Set to run the scheduler cycle now instead of at the next interval (e.g. on submit).
    wakeup: threading.Event = field(default_factory=threading.Event)

    def wake_scheduler(self) -> None:
        self.wakeup.set()
