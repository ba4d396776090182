"""Events and mentors in the back office (rules: "Events", "Mentors"): content staff
create events, see who RSVPed, mark attendance and cancel; admins pair mentors with new
partners (with the pairing rule's proposals) and end pairings.

Thin: the rules, audit rows and notices are in ``core.events.events`` and
``core.program.mentors``, which check the roles again."""

from datetime import timedelta

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateTimeLocalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Optional

from admin.views.base import StaffView, refuse, run_domain, staff_with
from core.base.extensions import db
from core.base.timeutil import in_zone, now_utc
from core.events import events
from core.events.models import EVENT_KINDS, Event
from core.program import mentors
from core.program.models import Mentorship, Partner

ROLES = events.EVENT_ROLES


class EventForm(FlaskForm):
    """A new event; start and end are wall-clock times in the event's time zone."""

    kind = SelectField("Kind", choices=[SelectChoice(k, v) for k, v in EVENT_KINDS.items()])
    title = StringField("Title (3–200 characters)", validators=[DataRequired()])
    description = TextAreaField("Description", render_kw={"rows": 4})
    timezone = StringField("Time zone (IANA, e.g. America/New_York)", default="UTC",
                           validators=[DataRequired()])
    starts_at = DateTimeLocalField("Starts (in that time zone)", format="%Y-%m-%dT%H:%M",
                                   validators=[Optional()])
    ends_at = DateTimeLocalField("Ends (in that time zone)", format="%Y-%m-%dT%H:%M",
                                 validators=[Optional()])
    host = StringField("Host", validators=[DataRequired()])
    join_url = StringField("Join URL (https://…; shown only to partners who RSVP)",
                           validators=[DataRequired()])
    capacity = IntegerField("Capacity (seats)", validators=[Optional()])
    min_tier_key = SelectField("Open to", choices=[])


class EventsView(StaffView):
    """Events: upcoming and past, with seats taken; create one; per event, who RSVPed,
    attendance (earns XP) and cancel."""

    roles = ROLES

    @expose("/")
    def index(self):
        rows = list(db.session.scalars(select(Event).order_by(Event.starts_at.desc()).limit(200)))
        return self.render("admin/events.html", rows=rows, kinds=EVENT_KINDS, now=now_utc(),
                           local=in_zone, form=FlaskForm())

    def _form(self) -> EventForm:
        from core.program.tiers import all_tiers

        form = EventForm()
        form.min_tier_key.choices = [SelectChoice("", "Every active partner")] + [
            SelectChoice(t.key, f"{t.name} and above") for t in all_tiers()[1:]]
        return form

    @expose("/new", methods=["GET", "POST"])
    def new(self):
        form = self._form()
        status = 200
        if request.method == "POST":
            if form.validate_on_submit():
                event = run_domain(lambda: events.create_event(current_user, {
                    "kind": form.kind.data, "title": form.title.data,
                    "description": form.description.data or "",
                    "timezone": form.timezone.data, "starts_at": form.starts_at.data,
                    "ends_at": form.ends_at.data, "host": form.host.data,
                    "join_url": form.join_url.data, "capacity": form.capacity.data,
                    "min_tier_key": form.min_tier_key.data}))
                if event is not None:
                    flash(f"“{event.title}” is on the calendar.", "success")
                    return redirect(url_for(".detail", event_id=event.id))
            status = 422
        return self.render("admin/simple_form.html", form=form, title="New event",
                           submit="Create event"), status

    @expose("/<int:event_id>")
    def detail(self, event_id: int):
        event, going = run_domain(lambda: events.attendees(event_id)) or (None, None)
        if event is None:
            return redirect(url_for(".index"))
        return self.render("admin/event.html", event=event, going=going, kinds=EVENT_KINDS,
                           local=in_zone, form=FlaskForm(), started=event.starts_at <= now_utc())

    @expose("/<int:event_id>/attendance", methods=["POST"])
    def attendance(self, event_id: int):
        if not staff_with(*ROLES):
            return refuse()
        if FlaskForm().validate_on_submit():
            ids = request.form.getlist("partner_id")
            n = run_domain(lambda: events.mark_attended(current_user, event_id, ids))
            if n is not None:
                flash(f"{n} partner{'s' if n != 1 else ''} marked as attended.", "success")
        return redirect(url_for(".detail", event_id=event_id))

    @expose("/<int:event_id>/cancel", methods=["POST"])
    def cancel(self, event_id: int):
        if not staff_with(*ROLES):
            return refuse()
        if FlaskForm().validate_on_submit():
            if run_domain(lambda: events.cancel_event(current_user, event_id)) is not None:
                flash("The event is cancelled; partners who RSVPed were told.", "success")
        return redirect(url_for(".index"))


class MentorsView(StaffView):
    """Mentors (admin): active pairings, new partners without a mentor with the mentors
    the rule proposes, pair and end."""

    roles = ("admin",)

    @expose("/")
    def index(self):
        active = list(db.session.scalars(select(Mentorship).where(
            Mentorship.status == "active").order_by(Mentorship.ends_at)))
        cutoff = now_utc() - timedelta(days=mentors.NEW_PARTNER_DAYS)
        paired = select(Mentorship.active_mentee_id).where(
            Mentorship.active_mentee_id.is_not(None))
        new = list(db.session.scalars(select(Partner).where(
            Partner.status == "active", Partner.approved_at >= cutoff,
            Partner.id.not_in(paired)).order_by(Partner.approved_at.desc()).limit(50)))
        proposals = {p.id: mentors.candidates(p, limit=3) for p in new}
        return self.render("admin/mentors.html", active=active, new=new, proposals=proposals,
                           form=FlaskForm(), days=mentors.DEFAULT_DAYS)

    @expose("/pair", methods=["POST"])
    def pair(self):
        if not self.is_accessible():
            return refuse()
        if FlaskForm().validate_on_submit():
            def number(name, default=0):
                value = (request.form.get(name) or "").strip()
                return int(value) if value.isascii() and value.isdigit() else default

            row = run_domain(lambda: mentors.pair(
                current_user, number("mentor_id"), number("mentee_id"),
                number("days", mentors.DEFAULT_DAYS)))
            if row is not None:
                flash(f"{row.mentor.name} now mentors {row.mentee.name}; both were told and "
                      "a direct message is open between them.", "success")
        return redirect(url_for(".index"))

    @expose("/<int:mentorship_id>/end", methods=["POST"])
    def end(self, mentorship_id: int):
        if not self.is_accessible():
            return refuse()
        if FlaskForm().validate_on_submit():
            if run_domain(lambda: mentors.end(current_user, mentorship_id)) is not None:
                flash("The mentorship has ended; both were told.", "success")
        return redirect(url_for(".index"))


def register_event_views(admin) -> None:
    """Add Events and Mentors (from ``admin.views.register_views``)."""
    admin.add_view(EventsView(name="Events", endpoint="events", url="events",
                              category="Content"))
    admin.add_view(MentorsView(name="Mentors", endpoint="mentors", url="mentors",
                               category="Program"))
