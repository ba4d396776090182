"""Alerts: a user's channels per notification kind, and the log of reminders and alerts
sent (once per lead per date, once per kind per period)."""

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.base.extensions import db
from core.base.timeutil import UTCDateTime, now_utc


class NotificationPreference(db.Model):
    """The channels one user chose for one notification kind (rules: "Notification
    preferences"). No row means the kind's default channels
    (``core.community.notifications.KINDS``)."""

    __tablename__ = "notification_preferences"
    __table_args__ = (UniqueConstraint("user_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: A notification kind (``notifications.kind``, at most 30 characters).
    kind: Mapped[str] = mapped_column(String(30))
    #: In the portal: badge, drawer and live toast (off: kept in the list, already read).
    portal: Mapped[bool] = mapped_column(default=True)
    email: Mapped[bool] = mapped_column(default=False)
    push: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)


class AlertSent(db.Model):
    """One reminder or performance alert sent to a partner: unique per ``(partner, kind,
    period_key)``, so a second worker or a later tick never sends it again (rules:
    "Follow-up reminders", "Performance alerts"). Only ever added."""

    __tablename__ = "alerts_sent"
    __table_args__ = (UniqueConstraint("partner_id", "kind", "period_key"),
                      Index("ix_alerts_sent_partner_id_sent_at", "partner_id", "sent_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    #: ``follow_up`` or a performance alert kind (``core.alerts.performance.ALERTS``).
    kind: Mapped[str] = mapped_column(String(30))
    #: What makes it once: ``lead:<id>:<YYYY-MM-DD>`` for a follow-up, the ISO week
    #: ``2026-W49`` (in the partner's time zone) for a performance alert.
    period_key: Mapped[str] = mapped_column(String(60))
    sent_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
