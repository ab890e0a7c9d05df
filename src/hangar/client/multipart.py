"""Streamed ``multipart/form-data`` uploads for the SDK (code packages, dataset imports):
text fields and file parts, each file read in chunks as it is sent (never held in memory
whole), with an exact ``Content-Length`` so the server can refuse an oversized form early."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx

from hangar.client.transport import Transport, api_error

CHUNK = 1024 * 1024
Progress = Callable[[int], None]  # called with the bytes just sent or received


def post(
    transport: Transport, url: str, *, fields: dict[str, str],
    files: Sequence[tuple[str, Path]], params: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> httpx.Response:  # fmt: skip
    """POST the form; ``files`` are ``(name sent, local path)`` pairs (a relative name keeps
    a folder upload's sub-folders). Raises the SDK's errors like every other request."""
    boundary = secrets.token_hex(16)
    length, body = _body(boundary, fields, files, progress)
    request = transport._build("POST", url, params=params, json=None, auth=True, content=body)
    request.headers.pop("Transfer-Encoding", None)
    request.headers["Content-Length"] = str(length)
    request.headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
    try:
        response = transport._http.send(request)
    except httpx.HTTPError as exc:
        raise transport._connection_error(exc) from exc
    if response.is_error:
        raise api_error(response, transport.server_url)
    return response


def _body(
    boundary: str, fields: dict[str, str], files: Sequence[tuple[str, Path]],
    progress: Progress | None,
) -> tuple[int, Iterator[bytes]]:  # fmt: skip
    """The length and the streamed bytes of the form."""
    heads = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        + value.encode() + b"\r\n"
        for name, value in fields.items()
    ]  # fmt: skip
    file_heads = [
        (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
         f'filename="{_quote(name)}"\r\nContent-Type: application/octet-stream'
         "\r\n\r\n").encode()
        for name, _ in files
    ]  # fmt: skip
    tail = f"--{boundary}--\r\n".encode()
    sizes = [path.stat().st_size for _, path in files]
    length = sum(map(len, heads)) + sum(map(len, file_heads)) + sum(sizes) + 2 * len(files)
    length += len(tail)

    def body() -> Iterator[bytes]:
        yield b"".join(heads)
        for head, (_, path) in zip(file_heads, files, strict=True):
            yield head
            with path.open("rb") as f:
                while chunk := f.read(CHUNK):
                    if progress is not None:
                        progress(len(chunk))
                    yield chunk
            yield b"\r\n"
        yield tail

    return length, body()


def _quote(name: str) -> str:
    return name.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")
