"""Declarative base, id generation and the timezone-aware datetime column type."""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> str:
    """A random 16-hex-character id (64 bits): unguessable, short enough for a CLI table."""
    return secrets.token_hex(8)


_SEQUENCE = itertools.count(secrets.randbelow(1 << 20))


def ordered_id() -> str:
    """A 16-hex-character id that sorts by creation time: milliseconds since the epoch (44
    bits) and a process-wide sequence (20 bits, from a random start). For append-heavy tables
    (the ledger): new rows land at the end of the primary-key index instead of anywhere in
    it, which keeps bulk inserts off the disk. Not unguessable: never use it as a secret."""
    millis = time.time_ns() // 1_000_000
    return f"{millis & 0xFFFFFFFFFFF:011x}{next(_SEQUENCE) & 0xFFFFF:05x}"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC, always returns aware datetimes (SQLite forgets the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC)

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)

        # SQLite keeps the text SQLAlchemy wrote ("2026-11-23 14:00:00.000000", UTC): one
        # fromisoformat call reads it, several times faster than the generic regex parser
        # (statements read 100,000 lines).
        def process(value: Any) -> datetime | None:
            if value is None:
                return None
            try:  # the stored text has no offset: reading it as "+00:00" is 6x faster
                return datetime.fromisoformat(value + "+00:00")
            except ValueError:
                return datetime.fromisoformat(value).astimezone(UTC)

        return process

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
