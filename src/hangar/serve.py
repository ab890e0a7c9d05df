"""Run the app under Uvicorn until SIGINT/SIGTERM, then shut down cleanly with status 0."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import uvicorn

from hangar.app import create_app
from hangar.config import Settings

GRACEFUL_TIMEOUT_SECONDS = 20


class GracefulServer(uvicorn.Server):
    """Uvicorn re-raises the stop signal after a graceful shutdown, so the process would end
    as "killed by SIGTERM" (status 143). A completed graceful stop is a clean exit: status 0,
    which is what supervisors and ``systemctl stop`` expect."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            self._captured_signals.clear()


def serve(settings: Settings, *, log_level: str = "info") -> None:
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app = create_app(settings)
    # On SIGINT/SIGTERM: stop accepting, finish in-flight requests (up to the graceful
    # timeout), then run the app's shutdown (background loops stop, database closes).
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        timeout_graceful_shutdown=GRACEFUL_TIMEOUT_SECONDS,
        proxy_headers=False,
        server_header=False,
    )
    GracefulServer(config).run()
