"""Support tickets and their messages."""

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.base.extensions import db
from core.base.timeutil import UTCDateTime, now_utc

TICKET_PRIORITIES = ("low", "medium", "high", "urgent")



TICKET_STATUSES = ("open", "in_progress", "resolved", "closed")



TICKET_CATEGORIES = ("payouts", "commissions", "leads", "technical", "account", "other")



class SupportTicket(db.Model):
    """A partner's request for help."""

    __tablename__ = "support_tickets"
    __table_args__ = (Index("ix_support_tickets_partner_id", "partner_id"),
                      Index("ix_support_tickets_status", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    subject: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(20), default="other")
    #: low | medium | high | urgent
    priority: Mapped[str] = mapped_column(String(10), default="medium")
    #: open | in_progress | resolved | closed
    status: Mapped[str] = mapped_column(String(20), default="open")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: When staff must have answered by (the partner's tier's response target).
    respond_by: Mapped[object | None] = mapped_column(UTCDateTime)
    first_response_at: Mapped[object | None] = mapped_column(UTCDateTime)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    resolved_at: Mapped[object | None] = mapped_column(UTCDateTime)

    partner = relationship("Partner")
    assignee = relationship("User")
    messages = relationship("TicketMessage", back_populates="ticket",
                            order_by="TicketMessage.id")



class TicketMessage(db.Model):
    """A message on a ticket; ``internal`` notes are for staff only."""

    __tablename__ = "ticket_messages"
    __table_args__ = (Index("ix_ticket_messages_ticket_id", "ticket_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("support_tickets.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    internal: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)

    ticket = relationship("SupportTicket", back_populates="messages")
    author = relationship("User")
