"""The event calendar and mentoring in the portal (rules: "Events", "Mentors"): upcoming
events in the partner's own time zone with RSVP and cancel, the personal iCalendar feed
(its URL, regenerate, revoke; the feed itself at ``/partner/calendar.ics?token=...``), and
the mentoring page. Thin: the rules are in ``core.events`` and ``core.program.mentors``."""

from flask import abort, flash, g, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField
from wtforms.validators import NumberRange, Optional

from core.base.errors import DomainError
from core.base.extensions import db
from core.events import events, ical
from core.events.models import EVENT_KINDS
from core.program import mentors
from portal import bp
from portal.forms import EmptyForm
from portal.views import partner_page


def _events_page(status: int = 200):
    token = ical.feed_token(g.partner)
    return render_template(
        "portal/events.html", items=events.upcoming_for(g.partner), kinds=EVENT_KINDS,
        form=EmptyForm(), feed_url=ical.feed_url(token) if token else None,
        can_rsvp=g.partner.status == "active", tz=g.partner.timezone or "UTC"), status


@bp.get("/partner/events")
@partner_page(active=False)
def events_page():
    """Upcoming events (webinars, live training, Q&A) in the partner's time zone, with
    RSVP / cancel, seats left, tier locks, the join link once RSVPed, and the calendar
    feed's URL."""
    return _events_page()


def _rsvp_action(fn, event_id: int, success: str):
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        fn(g.partner, event_id)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _events_page(exc.status)
    flash(success, "success")
    return redirect(url_for("portal.events_page", _anchor=f"event-{event_id}"))


@bp.post("/partner/events/<int:event_id>/rsvp")
@partner_page()
def event_rsvp(event_id: int):
    """RSVP to an event; a refusal (full 409, tier-locked 403, unknown 404) is the events
    page again with the reason and that status."""
    return _rsvp_action(events.rsvp, event_id,
                        "You're going. The join link is on the event; we remind you 24 hours "
                        "and 1 hour before.")


@bp.post("/partner/events/<int:event_id>/cancel")
@partner_page()
def event_cancel(event_id: int):
    """Take back an RSVP (the seat goes to someone else)."""
    return _rsvp_action(events.cancel_rsvp, event_id, "Your RSVP is cancelled.")


@bp.post("/partner/calendar/token")
@partner_page()
def calendar_token():
    """Make (or remake: the old URL stops working) the calendar feed URL."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    ical.regenerate_token(g.partner)
    db.session.commit()
    flash("Your calendar link is ready. Any link you made before no longer works.", "success")
    return redirect(url_for("portal.events_page", _anchor="calendar-feed"))


@bp.post("/partner/calendar/token/revoke")
@partner_page()
def calendar_token_revoke():
    """Switch the calendar feed off (its URL answers 404 from now on)."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    ical.revoke_token(g.partner)
    db.session.commit()
    flash("Your calendar link is switched off.", "success")
    return redirect(url_for("portal.events_page", _anchor="calendar-feed"))


@bp.get("/partner/calendar.ics")
def calendar_feed():
    """The partner's iCalendar feed, opened by the token in its URL (calendar apps send
    no cookie). A missing, forged or revoked token is 404 with nothing about why."""
    try:
        partner = ical.partner_for_token(request.args.get("token"))
    except DomainError:
        return make_response("Not found\n", 404, {"Content-Type": "text/plain; charset=utf-8",
                                                  "Cache-Control": "no-store"})
    body = ical.build_feed(partner)
    return make_response(body, 200, {
        "Content-Type": "text/calendar; charset=utf-8", "Cache-Control": "private, no-store",
        "Content-Disposition": 'inline; filename="siso-events.ics"',
        "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"})


# --- mentoring ------------------------------------------------------------------------------

class MentorOfferForm(FlaskForm):
    """The offer to mentor: on or off, and how many mentees at once."""

    offer = BooleanField("I'd like to mentor new partners")
    capacity = IntegerField("Mentees at once (1–10)", default=3,
                            validators=[Optional(), NumberRange(min=1, max=10)])


@bp.get("/partner/mentoring")
@partner_page(active=False)
def mentoring_page():
    """Your mentor (if you have one), your mentees with their progress (counts only), and
    the offer to mentor (Performer and above)."""
    mine = mentors.mentorships_of(g.partner)
    offer = mentors.opt_in_of(g.partner)
    form = MentorOfferForm(formdata=None, offer=bool(offer and offer.active),
                           capacity=offer.capacity if offer else 3)
    progress = [mentors.mentee_progress(g.partner, m.id) for m in mine["mentees"]]
    return render_template("portal/mentoring.html", mentor=mine["mentor"], progress=progress,
                           offer=offer, offer_form=form, form=EmptyForm(),
                           can_mentor=mentors.can_mentor(g.partner))


@bp.post("/partner/mentoring/offer")
@partner_page()
def mentoring_offer():
    """Offer to mentor or stop offering (below Performer: 403 with the reason)."""
    form = MentorOfferForm()
    if not form.validate_on_submit():
        flash("Mentees at once must be 1 to 10.", "error")
        return redirect(url_for("portal.mentoring_page")), 302
    try:
        mentors.set_opt_in(g.partner, bool(form.offer.data), form.capacity.data)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("portal.mentoring_page"))
    flash("Thanks: staff may pair you with a new partner." if form.offer.data
          else "You are no longer offered as a mentor.", "success")
    return redirect(url_for("portal.mentoring_page"))


@bp.post("/partner/mentoring/<int:mentorship_id>/end")
@partner_page()
def mentoring_end(mentorship_id: int):
    """End a pairing you are part of (the other side is told); 404 for anyone else's."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    mentors.end(current_user, mentorship_id)
    db.session.commit()
    flash("The mentorship has ended.", "success")
    return redirect(url_for("portal.mentoring_page"))
