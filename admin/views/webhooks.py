"""Outbound webhooks in the back office (admin): endpoints (register, pause, resume,
rotate the secret, delete, send a test event) and the delivery log (replay)."""

import json

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy.orm import joinedload
from wtforms import SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from admin.views.base import StaffModelView, refuse, run_domain, staff_with
from core.webhooks import deliveries, endpoints
from core.webhooks.events import EVENT_TYPES
from core.webhooks.models import WebhookDelivery
from core.webhooks.targets import MAX_URL


class EndpointForm(FlaskForm):
    """A new endpoint: URL, events, description."""

    url = StringField("URL (https)", validators=[DataRequired(), Length(max=MAX_URL)])
    events = SelectMultipleField("Events", choices=[SelectChoice(e, e) for e in EVENT_TYPES],
                                 widget=ListWidget(prefix_label=False),
                                 option_widget=CheckboxInput())
    description = TextAreaField("Description", validators=[Length(max=500)])


def _post_button(url: str, label: str, style: str = "btn-outline-primary") -> Markup:
    """A one-button form that POSTs (with the CSRF token) to ``url``."""
    from flask_wtf.csrf import generate_csrf

    return Markup('<form method="post" action="{}" class="d-inline"><input type="hidden" '
                  'name="csrf_token" value="{}"><button class="btn btn-sm {}" type="submit">{}'
                  '</button></form>').format(url, generate_csrf(), style, label)


class WebhookEndpointView(StaffModelView):
    """Webhook endpoints (admin only): list, register, and the list's actions."""

    roles = ("admin",)
    column_list = ("id", "url", "events", "status", "disabled_reason", "failing_since",
                   "created_at", "buttons")
    column_labels = {"buttons": "", "disabled_reason": "Why disabled"}
    column_filters = ("status",)
    column_default_sort = ("id", False)
    column_details_exclude_list = (*StaffModelView.column_details_exclude_list, "secret",
                                   "previous_secret")
    column_exclude_list = (*StaffModelView.column_exclude_list, "secret", "previous_secret")

    def _buttons(view, context, model, name):
        log = Markup('<a class="btn btn-sm btn-outline-secondary" href="{}">Deliveries</a> ').format(
            url_for("webhook-deliveries.index_view", flt1_endpoint_id_equals=model.id))
        if model.status != "active":
            return log
        return log + _post_button(url_for(".send_test", endpoint_id=model.id), "Send test event")

    column_formatters = {"buttons": _buttons}

    @expose("/new", methods=["GET", "POST"])
    def register(self):
        """Register an endpoint; its secret is shown once, in the message."""
        if not staff_with("admin"):
            return refuse()
        form = EndpointForm()
        if form.validate_on_submit():
            ep = run_domain(lambda: endpoints.create_endpoint(
                current_user.id, form.url.data, form.events.data or [],
                form.description.data or ""))
            if ep is not None:
                flash(f"Endpoint #{ep.id} registered. Its signing secret, shown this once: "
                      f"{ep.secret}", "success")
                return redirect(url_for(".index_view"))
        return self.render("admin/simple_form.html", form=form,
                           title="Register a webhook endpoint", submit="Register")

    @expose("/test/<int:endpoint_id>", methods=["POST"])
    def send_test(self, endpoint_id: int):
        """Send a test event to the endpoint."""
        if not staff_with("admin"):
            return refuse()
        if FlaskForm().validate_on_submit():
            run_domain(lambda: deliveries.send_test(endpoint_id, current_user.id),
                       "Test event queued; its delivery shows in the log within seconds.")
        return redirect(url_for("webhook-deliveries.index_view",
                                flt1_endpoint_id_equals=endpoint_id))

    def _each(self, ids, fn, done: str):
        if not staff_with("admin"):
            return refuse()
        for eid in ids:
            result = run_domain(lambda eid=eid: fn(int(eid), current_user.id))
            if result is not None:
                flash(done.format(id=eid, secret=getattr(result, "secret", "")), "success")
        return None

    @action("pause", "Pause", "Pause the selected endpoints? Their deliveries wait.")
    def action_pause(self, ids):
        return self._each(ids, endpoints.pause_endpoint, "Endpoint #{id} paused.")

    @action("resume", "Resume / enable", "Resume the selected endpoints?")
    def action_resume(self, ids):
        return self._each(ids, lambda eid, actor: endpoints.update_endpoint(
            eid, actor, {"status": "active"}), "Endpoint #{id} is active.")

    @action("rotate", "Rotate secret", "Give the selected endpoints new secrets? The old "
            "ones keep signing for 24 hours.")
    def action_rotate(self, ids):
        return self._each(ids, endpoints.rotate_secret,
                          "Endpoint #{id}: new secret, shown this once: {secret}")

    @action("remove", "Delete", "Delete the selected endpoints and their delivery logs?")
    def action_remove(self, ids):
        return self._each(ids, endpoints.delete_endpoint, "Endpoint #{id} deleted.")


def _attempts(view, context, model, name):
    rows = [Markup("<li>{} — {} — {} ms{}</li>").format(
        a.at.strftime("%Y-%m-%d %H:%M:%S UTC"), a.status_code or "no answer", a.duration_ms,
        Markup(": <code>{}</code>").format((a.error or a.response_excerpt)[:1024])
        if (a.error or a.response_excerpt) else "") for a in model.attempt_rows]
    return Markup("<ul class='mb-0'>{}</ul>").format(Markup("").join(rows))


class WebhookDeliveryView(StaffModelView):
    """The delivery log (admin only): every delivery with its attempts; replay."""

    roles = ("admin",)
    list_options = (joinedload(WebhookDelivery.endpoint),)
    column_list = ("id", "endpoint", "event_type", "kind", "status", "attempts",
                   "last_status_code", "next_attempt_at", "created_at", "replay")
    column_details_list = ("id", "endpoint", "msg_id", "event_type", "kind", "status",
                           "attempts", "next_attempt_at", "created_at", "body", "attempt_log")
    column_labels = {"replay": "", "last_status_code": "Last status",
                     "attempt_log": "Attempts (time, status, duration, first KB)"}
    column_filters = ("endpoint_id", "status", "event_type", "kind")
    column_default_sort = ("id", True)

    def _replay(view, context, model, name):
        return _post_button(url_for(".replay", delivery_id=model.id), "Replay")

    column_formatters = {"replay": _replay}
    column_formatters_detail = {
        "attempt_log": _attempts,
        "body": lambda v, c, m, n: Markup("<pre>{}</pre>").format(
            json.dumps(json.loads(m.body), indent=2)),
    }

    @expose("/replay/<int:delivery_id>", methods=["POST"])
    def replay(self, delivery_id: int):
        """Send the delivery's event again (same webhook-id and body)."""
        if not staff_with("admin"):
            return refuse()
        if FlaskForm().validate_on_submit():
            run_domain(lambda: deliveries.replay(delivery_id, current_user.id),
                       "Replay queued; it shows at the top of the log within seconds.")
        return redirect(request.referrer or url_for(".index_view"))
