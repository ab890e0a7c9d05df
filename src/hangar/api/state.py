"""Process-wide objects the app factory builds and dependencies read from ``app.state``."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from hangar.backends.base import Backend
from hangar.config import Settings
from hangar.proxy import ProxyPool


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    backend: Backend
    #: Set to run the scheduler cycle now instead of at the next interval (e.g. on submit).
    wakeup: threading.Event = field(default_factory=threading.Event)

    #: Forwards /dev/<id>/ traffic to IDEs and exposed ports (replaced at each app start).
    proxy: ProxyPool = field(default_factory=ProxyPool)
    #: The newest proxied request or WebSocket message per dev environment (idle shutdown).
    activity: dict[str, datetime] = field(default_factory=dict)

    def wake_scheduler(self) -> None:
        self.wakeup.set()

    def touch(self, workload_id: str) -> None:
        self.activity[workload_id] = datetime.now(UTC)
