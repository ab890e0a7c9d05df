"""Unknown paths and wrong methods answer in the error shape, with the fix in the message."""

from __future__ import annotations

from tests.support import Hangar, assert_error


def test_wrong_method_names_the_allowed_ones(hangar: Hangar) -> None:
    response = hangar.admin.request("PUT", "/api/v1/workspaces")
    body = assert_error(response, 405, "method_not_allowed")
    assert "PUT is not allowed on /api/v1/workspaces; use GET, POST" in body["message"]
    assert response.headers["allow"] == "GET, POST"


def test_unknown_api_path_is_404_json(hangar: Hangar) -> None:
    body = assert_error(hangar.admin.get("/api/v1/nope"), 404, "not_found")
    assert "/api/v1/nope" in body["message"]
