"""A console user as the TestClient sees it: own cookie jar, CSRF token, htmx headers."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.support import Hangar

_HX_HEADERS = re.compile(r"<body hx-headers='([^']*)'")


class Console:
    """Logs in through the form and then acts like the browser: pages are plain GETs,
    mutations are htmx requests carrying the CSRF token read from the last page."""

    def __init__(self, hangar: Hangar) -> None:
        # A client of its own, so several users can be logged in at once.
        self.client = TestClient(hangar.app, base_url="http://127.0.0.1")
        self.csrf = ""

    def login(self, username: str, password: str, next_path: str = "") -> httpx.Response:
        url = f"/login?next={next_path}" if next_path else "/login"
        return self.client.post(
            url, data={"username": username, "password": password}, follow_redirects=False
        )

    def get(self, path: str, **kw: Any) -> httpx.Response:
        response = self.client.get(path, follow_redirects=False, **kw)
        found = _HX_HEADERS.search(response.text)
        if found:
            self.csrf = json.loads(html.unescape(found.group(1)))["X-CSRF-Token"]
        return response

    def htmx(
        self,
        method: str,
        path: str,
        data: dict[str, Any] | None = None,
        *,
        form: str = "",
        csrf: bool = True,
    ) -> httpx.Response:
        """An htmx request; ``form`` is the id of the sending form (htmx's HX-Trigger)."""
        if csrf and not self.csrf:
            self.get("/workspaces")
        headers = {"HX-Request": "true", "HX-Current-URL": "http://127.0.0.1/workspaces"}
        if csrf:
            headers["X-CSRF-Token"] = self.csrf
        if form:
            headers["HX-Trigger"] = form
        return self.client.request(method, path, data=data, headers=headers, follow_redirects=False)


def logged_in(hangar: Hangar, username: str, password: str) -> Console:
    console = Console(hangar)
    response = console.login(username, password)
    assert response.status_code == 303, response.text
    return console
