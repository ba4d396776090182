"""Landing pages for the content role: write (Markdown), preview, publish (rules: "Links
and attribution")."""

from flask import flash
from flask_admin import expose
from flask_admin.actions import action
from flask_login import current_user
from markupsafe import Markup
from wtforms import TextAreaField
from wtforms.validators import ValidationError as FormValidationError

from admin.views.base import StaffModelView, run_domain
from core.base.errors import DomainError, NotFound
from core.base.extensions import db, get_row
from core.content import landing
from core.content.models import LandingPage


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


def register_link_views(admin) -> None:
    """Add the landing-page screen (Content menu)."""
    admin.add_view(LandingPageView(LandingPage, db, name="Landing pages",
                                   endpoint="landing_pages", url="landing-pages",
                                   category="Content"))
