"""Back office for the document factory: material templates (content staff), material
renders and their errors, and statement batches (finance)."""

import os

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import inspect, select
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms import ValidationError as FormValidationError
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from admin.views.base import StaffModelView, StaffView, run_domain
from admin.views.fields import partner_field, partner_text
from core.base.errors import DomainError, NotFound
from core.base.extensions import db, get_row
from core.content import materials
from core.content.models import MaterialTemplate
from core.money import statement_batches, statements
from core.money.models import StatementBatch
from web.downloads import send_stored

TIER_CHOICES = [(k, k.title()) for k in ("starter", "active", "performer", "elite")]


def _status_badge(status: str, error: str = "") -> Markup:
    colour = {"ready": "success", "failed": "danger"}.get(status, "warning")
    badge = Markup('<span class="badge badge-{}">{}</span>').format(colour, status)
    if error:
        badge += Markup(' <small class="text-danger">{}</small>').format(error)
    return badge


class PreviewForm(FlaskForm):
    """Whose branding and referral link a preview shows."""

    partner = partner_field("Preview as partner")


class MaterialTemplateView(StaffModelView):
    """Material templates: HTML body with named slots + CSS, tier requirement. Edits are
    drafts: preview them with a real partner's branding, then publish (rules:
    "Materials", drafts)."""

    roles = ("content",)
    can_create = True
    can_edit = True
    column_list = ("id", "key", "name", "kind", "min_tier_key", "white_label", "version",
                   "active", "state", "review")
    column_labels = {"min_tier_key": "Tier needed", "state": "State", "review": ""}
    column_default_sort = ("id", False)
    form_columns = ("key", "name", "kind", "description", "min_tier_key", "white_label",
                    "active", "draft_html", "draft_css")
    form_overrides = {"kind": SelectField, "min_tier_key": SelectField,
                      "draft_html": TextAreaField, "draft_css": TextAreaField}
    form_args = {
        "kind": {"choices": [SelectChoice(k, k.replace("_", " "))
                             for k in materials.TEMPLATE_KINDS]},
        "min_tier_key": {"choices": [SelectChoice(k, label) for k, label in TIER_CHOICES],
                         "label": "Lowest tier allowed"},
        "white_label": {"label": "White-label (partner brand only; Performer+)"},
        "draft_html": {"label": "HTML body (Jinja; saved as a draft). Slots: "
                                + ", ".join(sorted(materials.BODY_SLOTS))},
        "draft_css": {"label": "CSS (Jinja; only brand.primary, brand.primary_dark, "
                               "brand.tint, brand.on_primary; saved as a draft)"},
    }
    form_widget_args = {"draft_html": {"rows": 24, "class": "form-control text-monospace"},
                        "draft_css": {"rows": 16, "class": "form-control text-monospace"}}

    def _state(view, context, model, name):
        if model.published_at is None:
            return Markup('<span class="badge badge-warning">draft, never published</span>')
        if model.draft_html is not None:
            return Markup('<span class="badge badge-info">published v{}</span> '
                          '<span class="badge badge-warning">unpublished changes</span>'
                          ).format(model.version)
        return Markup('<span class="badge badge-success">published v{}</span>').format(
            model.version)

    def _review(view, context, model, name):
        return Markup('<a class="btn btn-sm btn-outline-primary" href="{}">{}</a>').format(
            url_for("materials.review", template_id=model.id),
            "Preview & publish" if materials.has_draft(model) else "Preview")

    column_formatters = {"state": _state, "review": _review}

    def on_form_prefill(self, form, id):
        """The form edits the draft; with none, it starts from the published content."""
        model = self.get_one(id)
        if model is not None and model.draft_html is None:
            form.draft_html.data, form.draft_css.data = model.html, model.css

    def on_model_change(self, form, model, is_created):
        state = inspect(model)
        changed = any(state.attrs[k].history.has_changes()
                      for k in ("white_label", "min_tier_key"))
        try:
            materials.prepare_template_change(model, is_created, current_user.id, changed)
        except DomainError as exc:
            raise FormValidationError(exc.message) from None

    def after_model_change(self, form, model, is_created):
        if materials.has_draft(model):
            flash("Saved as a draft: partners " + (
                "do not see this template yet." if model.published_at is None else
                f"still get version {model.version}.") + " Preview it, then publish.", "info")

    def get_save_return_url(self, model, is_created=False):
        return url_for(".review", template_id=model.id)

    @expose("/review/<int:template_id>", methods=["GET", "POST"])
    def review(self, template_id: int):
        """The draft's state, its preview with a chosen partner, and the publish button."""
        from core.program.partners import resolve_partner

        t = get_row(MaterialTemplate, template_id)
        if t is None:
            raise NotFound("No such template.")
        form = PreviewForm(partner=partner_text(t.preview_partner_id))
        if form.validate_on_submit():
            if run_domain(lambda: materials.request_preview(
                    t.id, resolve_partner(form.partner.data), current_user.id),
                    "Preview queued; this page updates when it is ready.") is not None:
                return redirect(url_for(".review", template_id=t.id))
        return self.render("admin/material_review.html", t=t, form=form,
                           publish_form=FlaskForm(prefix="pub"),
                           draft=materials.has_draft(t)), \
            (422 if request.method == "POST" else 200)

    @expose("/review/<int:template_id>/publish", methods=["POST"])
    def publish(self, template_id: int):
        """Publish the previewed draft (content staff)."""
        if FlaskForm(prefix="pub").validate_on_submit():
            t = run_domain(lambda: materials.publish_template(template_id, current_user.id))
            if t is not None:
                flash(f"Published: partners get version {t.version} from now on.", "success")
        return redirect(url_for(".review", template_id=template_id))

    @expose("/preview/<int:template_id>")
    def preview(self, template_id: int):
        t = get_row(MaterialTemplate, template_id)
        if t is None or t.preview_status != "ready":
            raise NotFound("No preview yet.")
        return send_stored(t.preview_path, mimetype="application/pdf", as_attachment=False,
                           download_name=f"preview-{t.key}.pdf")


class MaterialRenderView(StaffModelView):
    """Partners' co-branded PDFs (of a template or a resource), with the error of any
    that failed."""

    roles = ("content", "support")
    column_list = ("id", "partner", "template", "resource", "template_version", "status", "error",
                   "pages", "size_bytes", "request_count", "created_at", "rendered_at")
    column_filters = ("status",)
    column_default_sort = ("id", True)
    column_formatters = {"status": lambda v, c, m, n: _status_badge(m.status)}


class BatchForm(FlaskForm):
    """A month to issue statements for."""

    period = StringField("Month (YYYY-MM)", validators=[DataRequired(), Length(max=7)])
    open_month_ok = BooleanField("Issue them although the month is still open")


class StatementBatchView(StaffView):
    """Statements for every partner with activity in a month: progress, retries, ZIP."""

    roles = ("finance",)

    @expose("/", methods=["GET", "POST"])
    def index(self):
        from admin.views.ledger import open_month_confirmed

        form = BatchForm(period=request.args.get("period", statements.last_closed_period()))
        if form.validate_on_submit() and open_month_confirmed(form):
            def start():
                year, month = statements.parse_period(form.period.data)
                return statement_batches.start_batch(year, month, current_user.id)

            batch = run_domain(start)
            if batch is not None:
                flash(f"Batch #{batch.id}: {batch.total} statement(s) for {batch.period} queued.",
                      "success")
                return redirect(url_for(".index"))
        batches = list(db.session.scalars(select(StatementBatch)
                                          .order_by(StatementBatch.id.desc()).limit(50)))
        progress = statement_batches.batch_progress([b.id for b in batches])
        running = any(progress[b.id]["pending"] or b.zip_status == "pending" for b in batches)
        return self.render("admin/statement_batches.html", form=form, batches=batches,
                           progress=progress, running=running, action_form=FlaskForm())

    @expose("/<int:batch_id>")
    def detail(self, batch_id: int):
        batch = get_row(StatementBatch, batch_id)
        if batch is None:
            raise NotFound("No such batch.")
        return self.render("admin/statement_batch.html", batch=batch,
                           progress=statement_batches.batch_progress([batch.id])[batch.id],
                           statements=statement_batches.batch_statements(batch.id),
                           action_form=FlaskForm())

    @expose("/<int:batch_id>/retry", methods=["POST"])
    def retry(self, batch_id: int):
        if FlaskForm().validate_on_submit():
            n = run_domain(lambda: statement_batches.retry_failed(batch_id, current_user.id))
            if n:
                flash(f"{n} failed statement(s) queued again.", "success")
        return redirect(url_for(".detail", batch_id=batch_id))

    @expose("/<int:batch_id>/rebuild-zip", methods=["POST"])
    def rebuild_zip(self, batch_id: int):
        if FlaskForm().validate_on_submit():
            run_domain(lambda: statement_batches.rebuild_zip(batch_id, current_user.id),
                       "The ZIP is being built again.")
        return redirect(url_for(".detail", batch_id=batch_id))

    @expose("/<int:batch_id>/zip")
    def download_zip(self, batch_id: int):
        batch = get_row(StatementBatch, batch_id)
        if batch is None or batch.zip_status != "ready":
            raise NotFound("The ZIP is not ready.")
        # streamed from the store (or a presigned redirect): never read whole
        return send_stored(batch.zip_path, mimetype="application/zip",
                           download_name=os.path.basename(batch.zip_path))


def register_document_views(admin) -> None:
    """Add the document factory's screens (called from ``admin.views.register_views``)."""
    from core.content.models import MaterialRender

    admin.add_view(StatementBatchView(name="Statement batches", endpoint="statement_batches",
                                      url="statement-batches", category="Money"))
    admin.add_view(MaterialTemplateView(MaterialTemplate, db, name="Material templates",
                                        endpoint="materials", url="materials",
                                        category="Materials"))
    admin.add_view(MaterialRenderView(MaterialRender, db, name="Partner PDFs",
                                      endpoint="material_renders", url="material-renders",
                                      category="Materials"))
