"""Secrets the platform must keep to act for a tenant (an object storage's secret key).

They are sealed with Fernet (AES-128-CBC + HMAC-SHA256) under a key of the installation
kept at ``HANGAR_HOME/keys/secrets.key`` (mode 0600, made on first use), so a copy of the
database alone (a PostgreSQL dump, a backup) does not reveal them. The API never returns a
sealed value; back the key file up with the database, or registered secrets must be entered
again.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from hangar.errors import HangarError


class SecretUnreadable(HangarError):
    code = "secret_unreadable"
    http_status = 500


class SecretBox:
    def __init__(self, key_file: Path) -> None:
        self.key_file = key_file

    @classmethod
    def of_home(cls, home: Path) -> SecretBox:
        return cls(home / "keys" / "secrets.key")

    def _fernet(self) -> Fernet:
        if not self.key_file.is_file():
            self.key_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            try:
                fd = os.open(self.key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another process made it first: read theirs
            else:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(Fernet.generate_key())
        return Fernet(self.key_file.read_bytes().strip())

    def seal(self, secret: str) -> str:
        return self._fernet().encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet().decrypt(sealed.encode()).decode()
        except InvalidToken as error:
            raise SecretUnreadable(
                f"a stored secret cannot be opened with {self.key_file}: the key file was "
                "replaced; register the storage's secret again"
            ) from error
