"""In-app notifications (tier up, commission created, payout status...)."""

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.timeutil import UTCDateTime, now_utc


class Notification(db.Model):
    """A notice for one user, read or unread."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_id_read_at", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: commission | tier_up | tier_down | achievement | payout | statement | approval |
    #: message
    kind: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(String(300), default="")
    read_at: Mapped[object | None] = mapped_column(UTCDateTime)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    #: When the e-mail copy went out (jobs/email.py), so a redelivered job sends it once;
    #: ``None`` when none was sent (kind not e-mailed, partner opted out, not yet sent).
    emailed_at: Mapped[object | None] = mapped_column(UTCDateTime)
