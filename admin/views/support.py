"""Support queue, training content and challenges."""

from datetime import UTC, datetime

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import case, select
from sqlalchemy.orm import joinedload
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from admin.views.base import StaffModelView, refuse, run_domain, staff_with
from core.accounts.models import User
from core.base.errors import NotFound
from core.base.extensions import db
from core.base.timeutil import now_utc
from core.community import challenges
from core.community.models import Challenge
from core.money.cents import format_cents
from core.program.models import Partner
from core.support import tickets as support
from core.support.models import TICKET_STATUSES, SupportTicket

PRIORITY_ORDER = case({"urgent": 0, "high": 1, "medium": 2, "low": 3},
                      value=SupportTicket.priority, else_=4)


class StaffReplyForm(FlaskForm):
    body = TextAreaField("Reply", validators=[DataRequired(), Length(max=5000)])
    internal = BooleanField("Internal note (the partner never sees it)")


class TicketStatusForm(FlaskForm):
    status = SelectField("Status", choices=[SelectChoice(s, s.replace("_", " "))
                                            for s in TICKET_STATUSES])
    assignee_id = SelectField("Assign to", choices=[], validators=[Optional()])


class TicketView(StaffModelView):
    """The support queue: urgent and oldest first, with the response target."""

    roles = ("support",)
    list_options = (joinedload(SupportTicket.partner).joinedload(Partner.user),
                    joinedload(SupportTicket.assignee))
    column_list = ("id", "priority", "subject", "partner", "status", "assignee", "respond_by",
                   "created_at")
    column_labels = {"respond_by": "Answer by"}
    column_filters = ("status", "priority", "category")
    column_searchable_list = ("subject",)
    column_sortable_list = ("id", "created_at", "respond_by")

    def _subject(view, context, model, name):
        return Markup('<a href="{}">{}</a>').format(url_for("tickets.ticket", ticket_id=model.id),
                                                    model.subject)

    def _due(view, context, model, name):
        if model.respond_by is None:
            return ""
        late = model.first_response_at is None and model.respond_by < now_utc() and \
            model.status in ("open", "in_progress")
        text = model.respond_by.strftime("%Y-%m-%d %H:%M UTC")
        return Markup('<span class="text-danger font-weight-bold">{} (late)</span>').format(text) \
            if late else text

    column_formatters = {"subject": _subject, "respond_by": _due}

    def _apply_sorting(self, query, joins, sort_column, sort_desc):
        if sort_column is None:
            return query.order_by(case({"open": 0, "in_progress": 1, "resolved": 2},
                                       value=SupportTicket.status, else_=3),
                                  PRIORITY_ORDER, SupportTicket.created_at), joins
        return super()._apply_sorting(query, joins, sort_column, sort_desc)

    @expose("/ticket/<int:ticket_id>", methods=["GET", "POST"])
    def ticket(self, ticket_id: int):
        if not staff_with("support"):
            return refuse()
        ticket = db.session.get(SupportTicket, ticket_id)
        if ticket is None:
            raise NotFound("No such ticket.")
        reply = StaffReplyForm(prefix="r")
        status = TicketStatusForm(prefix="s", status=ticket.status,
                                  assignee_id=str(ticket.assignee_id or ""))
        status.assignee_id.choices = [SelectChoice("", "(nobody)")] + [
            SelectChoice(str(u.id), u.name) for u in db.session.scalars(
                select(User).where(User.is_staff).order_by(User.name))]
        if request.method == "POST" and "r-body" in request.form and reply.validate_on_submit():
            if run_domain(lambda: support.reply(current_user, ticket, reply.body.data,
                                                reply.internal.data),
                          "Note added." if reply.internal.data else "Reply sent.") is not None:
                return redirect(url_for(".ticket", ticket_id=ticket.id))
        if request.method == "POST" and "s-status" in request.form and status.validate_on_submit():
            assignee = int(status.assignee_id.data) if status.assignee_id.data else None
            if run_domain(lambda: support.set_status(ticket, status.status.data, current_user,
                                                     assignee), "Ticket updated.") is not None:
                return redirect(url_for(".ticket", ticket_id=ticket.id))
        return self.render("admin/ticket.html", ticket=ticket, reply=reply, status=status)


class ChallengeForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    description = StringField("Description", validators=[Length(max=500)])
    metric = SelectField("Metric", choices=[SelectChoice("deals", "Confirmed deals"),
                                            SelectChoice("revenue", "Revenue (cents)")])
    target = IntegerField("Target (deals, or revenue in cents)",
                          validators=[InputRequired(), NumberRange(1, 100_000_000)])
    prize_cents = IntegerField("Prize per winner (cents)",
                               validators=[InputRequired(), NumberRange(0, 100_000_000)])
    starts = StringField("Starts (YYYY-MM-DD, UTC)", validators=[DataRequired(), Length(max=10)])
    ends = StringField("Ends (YYYY-MM-DD, UTC, exclusive)",
                       validators=[DataRequired(), Length(max=10)])


class ChallengeView(StaffModelView):
    """Challenges: create, follow the standings, award the prizes (bonus commissions)."""

    roles = ("finance", "content")
    column_list = ("id", "name", "metric", "target", "prize_cents", "starts_at", "ends_at",
                   "awarded_at")
    column_labels = {"prize_cents": "Prize"}
    column_formatters = {"prize_cents": lambda v, c, m, n: format_cents(m.prize_cents),
                         "name": lambda v, c, m, n: Markup('<a href="{}">{}</a>').format(
                             url_for("challenges.standings_page", challenge_id=m.id), m.name)}
    list_template = "admin/challenge_list.html"

    @expose("/new", methods=["GET", "POST"])
    def create(self):
        if not staff_with("finance", "content"):
            return refuse()
        form = ChallengeForm()
        if form.validate_on_submit():
            def make():
                try:
                    start, end = (datetime.strptime(x.strip(), "%Y-%m-%d").replace(tzinfo=UTC)
                                  for x in (form.starts.data, form.ends.data))
                except ValueError:
                    from core.base.errors import ValidationError

                    raise ValidationError("Dates must look like 2026-12-01.") from None
                return challenges.create_challenge(current_user.id, form.name.data,
                                                   form.metric.data, form.target.data,
                                                   form.prize_cents.data, start, end,
                                                   form.description.data or "")

            if run_domain(make, "Challenge created.") is not None:
                return redirect(url_for(".index_view"))
        return self.render("admin/simple_form.html", form=form, title="New challenge",
                           submit="Create challenge")

    @expose("/standings/<int:challenge_id>", methods=["GET", "POST"])
    def standings_page(self, challenge_id: int):
        ch = db.session.get(Challenge, challenge_id)
        if ch is None:
            raise NotFound("No such challenge.")
        form = FlaskForm()
        if request.method == "POST":
            if not staff_with("finance"):
                return refuse()
            if form.validate_on_submit():
                made = run_domain(lambda: challenges.award(ch.id, current_user.id))
                if made is not None:
                    flash(f"{len(made)} prize(s) created as bonus commissions awaiting approval.",
                          "success")
                return redirect(url_for(".standings_page", challenge_id=ch.id))
        return self.render("admin/challenge.html", ch=ch, rows=challenges.standings(ch),
                           form=form, ended=now_utc() >= ch.ends_at)
