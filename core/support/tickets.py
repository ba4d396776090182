"""Support tickets (rules: "Support"; Active+ "4h response").

Partners open tickets and reply; staff assign, reply (the partner is notified), add
internal notes the partner never sees, and move the status.
"""

from datetime import timedelta

from sqlalchemy import select

from core.accounts.models import User
from core.base.errors import NotFound, ValidationError
from core.base.extensions import db, get_row
from core.base.timeutil import now_utc
from core.community.notifications import notify
from core.program.models import Partner
from core.program.tiers import standing
from core.support.models import (
    TICKET_CATEGORIES,
    TICKET_PRIORITIES,
    TICKET_STATUSES,
    SupportTicket,
    TicketMessage,
)

#: Hours within which staff answer, by the partner's effective tier (tier design:
#: Starter "business hours", Active+ "4-hour response", Elite "VIP").
RESPONSE_HOURS = {"starter": 24, "active": 4, "performer": 4, "elite": 2}
MAX_SUBJECT, MAX_BODY = 200, 5000


def _text(value, field: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{field} is required.")
    if len(value) > limit:
        raise ValidationError(f"{field} is at most {limit:,} characters.")
    return value.strip()


def open_ticket(partner: Partner, subject, body, category="other", priority="medium") -> SupportTicket:
    """Open a ticket with its first message; the response target follows the partner's
    effective tier (``RESPONSE_HOURS``). Raises ``ValidationError``."""
    subject = _text(subject, "Subject", MAX_SUBJECT)
    body = _text(body, "Message", MAX_BODY)
    if category not in TICKET_CATEGORIES:
        raise ValidationError(f"category must be one of: {', '.join(TICKET_CATEGORIES)}.")
    if priority not in TICKET_PRIORITIES:
        raise ValidationError(f"priority must be one of: {', '.join(TICKET_PRIORITIES)}.")
    now = now_utc()
    hours = RESPONSE_HOURS.get(standing(partner).tier.key, 24)
    ticket = SupportTicket(partner_id=partner.id, subject=subject, category=category,
                           priority=priority, status="open", created_at=now, updated_at=now,
                           respond_by=now + timedelta(hours=hours))
    db.session.add(ticket)
    db.session.flush()
    db.session.add(TicketMessage(ticket_id=ticket.id, author_id=partner.user_id, body=body))
    return ticket


def get_ticket_for(user: User, ticket_id) -> SupportTicket:
    """A ticket the user may read: staff any, a partner only their own (else ``NotFound``)."""
    ticket = get_row(SupportTicket, ticket_id)
    if ticket is None:
        raise NotFound("No such ticket.")
    if user.is_staff:
        return ticket
    if user.partner is None or ticket.partner_id != user.partner.id:
        raise NotFound("No such ticket.")
    return ticket


def visible_messages(user: User, ticket: SupportTicket) -> list[TicketMessage]:
    """The ticket's messages; internal notes only for staff."""
    return [m for m in ticket.messages if user.is_staff or not m.internal]


def reply(user: User, ticket: SupportTicket, body, internal: bool = False) -> TicketMessage:
    """Add a message. A staff reply (not internal) records the first response, moves an
    open ticket to in progress and notifies the partner; a partner reply reopens a
    resolved ticket. Partners cannot write internal notes. Raises ``ValidationError``."""
    body = _text(body, "Message", MAX_BODY)
    if internal and not user.is_staff:
        raise ValidationError("Only staff write internal notes.")
    if ticket.status == "closed":
        raise ValidationError("This ticket is closed; open a new one.")
    now = now_utc()
    msg = TicketMessage(ticket_id=ticket.id, author_id=user.id, body=body, internal=internal)
    db.session.add(msg)
    ticket.updated_at = now
    if user.is_staff and not internal:
        ticket.first_response_at = ticket.first_response_at or now
        if ticket.status == "open":
            ticket.status = "in_progress"
        notify(ticket.partner.user_id, "ticket", f"Support replied: {ticket.subject}",
               body[:200], f"/partner/support/{ticket.id}")
    elif not user.is_staff and ticket.status == "resolved":
        ticket.status = "open"
        ticket.resolved_at = None
    return msg


def set_status(ticket: SupportTicket, status, actor: User, assignee_id=None) -> SupportTicket:
    """Staff move a ticket (open, in_progress, resolved, closed) and/or assign it."""
    if status not in TICKET_STATUSES:
        raise ValidationError(f"status must be one of: {', '.join(TICKET_STATUSES)}.")
    if assignee_id is not None:
        assignee = get_row(User, assignee_id)
        if assignee is None or not assignee.is_staff:
            raise ValidationError("Assign the ticket to a staff member.")
        ticket.assignee_id = assignee.id
    ticket.status = status
    ticket.updated_at = now_utc()
    ticket.resolved_at = now_utc() if status in ("resolved", "closed") else None
    return ticket


def partner_tickets(partner: Partner) -> list[SupportTicket]:
    """A partner's tickets, newest first."""
    return list(db.session.scalars(select(SupportTicket).where(
        SupportTicket.partner_id == partner.id).order_by(SupportTicket.id.desc())))
