"""Time helpers. Billing never reads the clock: every time is a parameter, and must be aware.

Python compares and subtracts two datetimes that share a ``tzinfo`` object on their *wall
clock* (ignoring DST changes); :func:`elapsed` measures real elapsed time in UTC instead.
Plan periods, on the other hand, are added on the wall clock on purpose: a 30-day period
bought at 00:00 ends at 00:00, whatever DST did in between.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hangar.billing.errors import invalid


def require_aware(value: datetime, *, field: str) -> datetime:
    """Billing times must carry a zone: a naive time is ambiguous by up to a day."""
    if not isinstance(value, datetime):
        raise invalid(field, f"must be a datetime (got {type(value).__name__})")
    if value.tzinfo is None or value.utcoffset() is None:
        raise invalid(field, f"must be a timezone-aware datetime (got naive {value.isoformat()})")
    return value


def as_utc(value: datetime, *, field: str) -> datetime:
    """``value`` (which must be aware) in UTC, so comparisons follow real time."""
    return require_aware(value, field=field).astimezone(UTC)


def elapsed(start: datetime, end: datetime) -> timedelta:
    """Real time from ``start`` to ``end`` (in UTC, so DST changes count)."""
    return end.astimezone(UTC) - start.astimezone(UTC)


def whole_second(at: datetime) -> datetime:
    """``at`` truncated to its second (metering is per second, J4)."""
    return at.replace(microsecond=0)
