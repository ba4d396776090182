"""Notification preferences, the web push toggle and lead follow-ups in the portal
(rules: "Notification preferences", "Web push", "Follow-up reminders"). Thin: the rules
are in ``core.community.notifications``, ``core.community.push`` and
``core.alerts.reminders``."""

from flask import abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from core.alerts import reminders
from core.base.errors import DomainError
from core.base.extensions import db
from core.community import notifications, push
from core.program import leads
from portal import bp
from portal.forms import EmptyForm
from portal.views import partner_page


@bp.route("/partner/profile/notifications", methods=["GET", "POST"])
@partner_page(active=False)
def notification_settings():
    """For each notification kind, the channels (portal, e-mail, push) as a table of
    checkboxes; and the device's push toggle (the only place that asks the browser's
    permission). Saving posts every box: an unticked box is a channel off."""
    form = EmptyForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        choices = {kind: {c: f"{kind}:{c}" in request.form for c in notifications.CHANNELS}
                   for kind in notifications.KINDS}
        notifications.set_preferences(current_user.id, choices)
        db.session.commit()
        flash("Notification preferences saved.", "success")
        return redirect(url_for("portal.notification_settings"), 303)
    keys = push.vapid_keys()
    groups: dict[str, list[dict]] = {}
    for row in notifications.preferences_of(current_user.id):
        groups.setdefault(row["group"], []).append(row)
    return render_template("portal/notification_settings.html", form=form, groups=groups,
                           partner=g.partner, vapid_public_key=keys[1] if keys else "",
                           devices=len(push.subscriptions_of(current_user.id)))


def _json_refusal(exc: DomainError):
    db.session.rollback()
    return jsonify(error={"code": exc.code, "message": exc.message}), exc.status


@bp.post("/partner/profile/push")
@partner_page(active=False)
def push_subscribe():
    """The push toggle turned on: store this browser's ``PushSubscription.toJSON()``
    (JSON, CSRF token in ``X-CSRFToken``). 422 with nothing stored for an endpoint that
    is not https on a browser push service, or bad keys."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("keys"), dict):
        return jsonify(error={"code": "validation_error",
                              "message": "Send the browser's push subscription."}), 422
    try:
        push.subscribe(current_user.id, body.get("endpoint"), body["keys"].get("p256dh"),
                       body["keys"].get("auth"))
        db.session.commit()
    except DomainError as exc:
        return _json_refusal(exc)
    return jsonify(subscribed=True, devices=len(push.subscriptions_of(current_user.id)))


@bp.post("/partner/profile/push/remove")
@partner_page(active=False)
def push_unsubscribe():
    """The push toggle turned off: forget this browser's endpoint (JSON ``{"endpoint"}``,
    CSRF token in ``X-CSRFToken``). Someone else's endpoint is left alone."""
    body = request.get_json(silent=True)
    removed = push.unsubscribe(current_user.id, body.get("endpoint") if isinstance(body, dict)
                               else None)
    db.session.commit()
    return jsonify(removed=removed, devices=len(push.subscriptions_of(current_user.id)))


@bp.post("/partner/leads/<int:lead_id>/follow-up")
@partner_page()
def lead_follow_up(lead_id: int):
    """Set (or clear) a lead's next action and follow-up day from its page; the reminder
    comes at 9:00 on that day in the partner's time zone."""
    lead = leads.get_partner_lead(g.partner, lead_id)
    if not EmptyForm(prefix="follow").validate_on_submit():
        abort(400)
    try:
        reminders.set_follow_up(lead, request.form.get("next_action", ""),
                                request.form.get("next_action_on", ""))
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        flash("Follow-up saved: we will remind you at 9:00 that day." if lead.next_action_on
              else "Follow-up day cleared.", "success")
    return redirect(url_for("portal.lead_detail", lead_id=lead.id, _anchor="follow-up"), 303)
