"""Landing pages for the content role: write (Markdown), preview, publish (rules: "Links
and attribution")."""

from flask import flash, redirect, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import IntegerField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired
from wtforms.validators import ValidationError as FormValidationError

from admin.views.base import StaffModelView, StaffView, run_domain
from core.base.errors import DomainError, NotFound
from core.base.extensions import db, get_row
from core.content import landing
from core.content.models import LandingPage
from core.program import links


class LandingPageView(StaffModelView):
    """Landing pages: new pages are drafts; "Preview" shows one as visitors will see it;
    the Publish / Back to draft actions are audited. Partners' campaign links can point
    only at published pages."""

    roles = ("content",)
    can_create = True
    can_edit = True
    column_list = ("title", "slug", "service", "status", "published_at", "preview")
    column_filters = ("status",)
    form_columns = ("title", "slug", "hero", "service", "body")
    form_overrides = {"body": TextAreaField}
    form_args = {"body": {"label": "Body (Markdown: ## headings, - lists, **bold**, "
                                   "[links](https://…), tables)"}}
    form_widget_args = {"body": {"rows": 16}}

    def _preview(view, context, model, name):
        from flask import url_for

        return Markup('<a class="btn btn-sm btn-secondary" href="{}">Preview</a>').format(
            url_for("landing_pages.preview", page_id=model.id))

    column_formatters = {"preview": _preview}

    def on_model_change(self, form, model, is_created):
        try:
            landing.check_page(model.slug, model.title)
        except DomainError as exc:
            raise FormValidationError(exc.message) from None

    @expose("/preview/<int:page_id>")
    def preview(self, page_id: int):
        page = get_row(LandingPage, page_id)
        if page is None:
            raise NotFound("No such landing page.")
        return self.render("admin/landing_preview.html", page=page,
                           body=Markup(landing.render_body(page.body)))  # noqa: S704 (nh3)

    def _set(self, ids, status, verb):
        done = 0
        for pid in ids:
            page = db.session.get(LandingPage, int(pid))
            if page is not None and run_domain(
                    lambda page=page: landing.set_status(page, status, current_user.id)):
                done += 1
        if done:
            flash(f"{verb} {done} landing page(s).", "success")

    @action("publish", "Publish", "Publish the selected pages? Partners can link to them at once.")
    def action_publish(self, ids):
        return self._set(ids, "published", "Published")

    @action("unpublish", "Back to draft", "Take the selected pages back to draft? Links to them "
            "show the default landing page meanwhile.")
    def action_unpublish(self, ids):
        return self._set(ids, "draft", "Took back to draft")


class AttributionForm(FlaskForm):
    """The attribution window and model (checked again in core)."""

    days = IntegerField("Attribution window (days, 1–365)", validators=[InputRequired()])
    model = SelectField("When two partners' links were clicked", choices=[
        SelectChoice("first", "First click wins (the first partner keeps the visitor)"),
        SelectChoice("last", "Last click wins (the newest click takes over)")],
        validate_choice=False)
    origins = TextAreaField("Website origins that may send leads through /t.js (one per "
                            "line, e.g. https://www.siso.example)")


class AttributionView(StaffView):
    """Attribution settings (admin): the cookie's days and first or last click."""

    roles = ("admin",)

    @expose("/", methods=["GET", "POST"])
    def index(self):
        form = AttributionForm(days=links.attribution_days(), model=links.attribution_model(),
                               origins="\n".join(links.lead_origins()))
        if form.validate_on_submit():
            done = run_domain(lambda: (links.set_lead_origins(form.origins.data, current_user.id),
                                       links.set_attribution(form.days.data, form.model.data,
                                                             current_user.id))[1])
            if done is not None:
                flash(f"Attribution: {done['days']} days, {done['model']} click wins.", "success")
                return redirect(url_for("attribution.index"))
        return self.render("admin/simple_form.html", form=form, title="Attribution",
                           submit="Save")


def register_link_views(admin) -> None:
    """Add the landing-page screen (Content menu) and the attribution settings
    (Program menu)."""
    admin.add_view(LandingPageView(LandingPage, db, name="Landing pages",
                                   endpoint="landing_pages", url="landing-pages",
                                   category="Content"))
    admin.add_view(AttributionView(name="Attribution", endpoint="attribution",
                                   url="attribution", category="Program"))
    from admin.views.fraud import register_fraud_views
    from admin.views.program_analytics import ProgramAnalyticsView

    register_fraud_views(admin)
    admin.add_view(ProgramAnalyticsView(name="Program analytics", endpoint="program_analytics",
                                        url="program-analytics", category="Program"))
