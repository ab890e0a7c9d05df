"""Static files of the console, and the vendored htmx that ``scripts/web-assets.sh`` copies in.

htmx comes from the npm registry (pinned in ``web/package.json``), never from a CDN: the strict
CSP allows scripts from this origin only, and installations may have no internet access.
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger("hangar.web")

STATIC_DIR = Path(__file__).parent / "static"
HTMX_FILE = STATIC_DIR / "vendor" / "htmx.min.js"
HTMX_URL = "/static/vendor/htmx.min.js"
ASSETS_SCRIPT = "scripts/web-assets.sh"


def htmx_vendored() -> bool:
    """Checked on every page render, so running the script needs no server restart."""
    return HTMX_FILE.is_file()


def warn_if_htmx_missing() -> None:
    if not htmx_vendored():
        log.warning(
            "console: %s is missing, so pages load but their forms and buttons do nothing; "
            "run %s from the source tree (it installs htmx from the npm registry)",
            HTMX_FILE,
            ASSETS_SCRIPT,
        )
