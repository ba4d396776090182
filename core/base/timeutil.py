"""Time helpers: every time in SISO Partners is timezone-aware UTC (rules: "Money")."""

from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator


def now_utc() -> datetime:
    """Return the current time as an aware ``datetime`` in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A ``DateTime(timezone=True)`` column that always returns aware UTC values.

    SQLite stores no offset; values read back are tagged UTC. Naive values given to
    it are refused with ``ValueError`` so a local time can never slip in.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def in_zone(moment: datetime, tz_name: str | None) -> datetime:
    """Return the aware ``moment`` in the IANA zone ``tz_name`` (a partner's time zone) for
    people to read; an unknown or empty name means UTC. Storage stays UTC."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        zone = ZoneInfo(tz_name) if tz_name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    return moment.astimezone(zone)


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """Return ``(start, end)`` of a calendar month in UTC; ``end`` is exclusive."""
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    return start, end
