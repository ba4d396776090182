"""Back office for marketing resources (rules: "Resources"): content staff (and admins) upload
files with title, category, tier and co-brandable flag, see download counts, deactivate.

Thin: the upload rules, the storage and the audit rows are in ``core.content.resources``."""

from flask import flash, redirect, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from markupsafe import Markup
from sqlalchemy.orm import joinedload
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from admin.views.base import StaffModelView, refuse, run_domain, staff_with
from admin.views.materials import TIER_CHOICES
from core.base.errors import NotFound
from core.base.extensions import get_row
from core.content import resources
from core.content.models import Resource
from core.program.tiers import all_tiers

ROLES = ("content",)


def _tier_choices() -> list[SelectChoice]:
    return [SelectChoice(t.key, t.name) for t in all_tiers()]


class ResourceEditForm(FlaskForm):
    """An resource's catalogue data (the file itself is replaced by a new upload)."""

    title = StringField("Title", validators=[DataRequired(), Length(max=160)])
    category = SelectField("Category",
                           choices=[SelectChoice(k, v) for k, v in resources.CATEGORIES.items()])
    min_tier_key = SelectField("Lowest tier allowed")
    co_brandable = BooleanField("Co-brandable template (partners can request a co-branded "
                                "version on their materials page)")
    description = TextAreaField("Description", validators=[Length(max=1000)])


class ResourceUploadForm(ResourceEditForm):
    """One marketing file and its catalogue data."""

    file = FileField("File")


def _flash_form_errors(form) -> None:
    for field in form:
        for error in field.errors:
            flash(f"{field.label.text}: {error}", "error")


def _size(view, context, model, name) -> str:
    n = model.size_bytes or 0
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    return f"{n / 1024:.1f} KB" if n >= 1024 else f"{n} B"


def _uploader(view, context, model, name) -> str:
    return model.uploaded_by.name if model.uploaded_by else ""


def _edit_link(view, context, model, name):
    return Markup('<a class="btn btn-sm btn-outline-primary" href="{}">Edit</a>').format(
        url_for("resources.edit", resource_id=model.id))


def _active(view, context, model, name):
    if model.active:
        return Markup('<span class="badge badge-success">active</span>')
    return Markup('<span class="badge badge-secondary">inactive</span>')


class ResourceView(StaffModelView):
    """Resources: list with download counts, filters by category and tier, upload, deactivate."""

    roles = ROLES
    list_template = "admin/resource_list.html"
    list_options = (joinedload(Resource.uploaded_by),)
    column_list = ("id", "title", "category", "min_tier_key", "file_kind", "size_bytes",
                   "co_brandable", "download_count", "active", "uploaded_by", "created_at",
                   "edit")
    column_details_list = ("id", "title", "category", "description", "min_tier_key",
                           "co_brandable", "file_kind", "size_bytes", "sha256",
                           "original_name", "stored_name", "uploaded_by", "created_at",
                           "updated_at", "download_count", "active")
    column_labels = {"min_tier_key": "Tier needed", "file_kind": "Type", "size_bytes": "Size",
                     "download_count": "Downloads", "original_name": "Uploaded as",
                     "co_brandable": "Co-brandable", "edit": ""}
    column_searchable_list = ("title", "original_name")
    column_sortable_list = ("id", "title", "category", "min_tier_key", "size_bytes",
                            "download_count", "created_at")
    column_default_sort = ("id", True)
    column_formatters = {"size_bytes": _size, "active": _active, "edit": _edit_link,
                         "uploaded_by": _uploader}
    column_formatters_detail = {"size_bytes": _size, "active": _active,
                                "uploaded_by": _uploader}

    column_filters = (
        FilterEqual(Resource.category, "Category",
                    options=[(k, v) for k, v in resources.CATEGORIES.items()]),
        # The tier keys the program ships with (the filter list is built once, at start).
        FilterEqual(Resource.min_tier_key, "Tier needed", options=TIER_CHOICES),
        FilterEqual(Resource.file_kind, "Type", options=[(k, v[0]) for k, v in resources.KINDS.items()]),
        "active", "co_brandable")

    @expose("/upload", methods=["GET", "POST"])
    def upload(self):
        """The upload form; a refusal is flashed and nothing is stored."""
        form = ResourceUploadForm()
        form.min_tier_key.choices = _tier_choices()
        if form.validate_on_submit():
            upload = form.file.data
            # streamed from the request's spooled file part to the store, never whole
            stream = upload.stream if upload else None
            name = upload.filename if upload else ""
            resource = run_domain(lambda: resources.upload_resource(
                current_user.id, title=form.title.data, category=form.category.data,
                tier_key=form.min_tier_key.data, co_brandable=form.co_brandable.data,
                description=form.description.data, filename=name, stream=stream))
            if resource is not None:
                flash(f"Uploaded “{resource.title}” ({resources.KINDS[resource.file_kind][0]}).",
                      "success")
                return redirect(url_for(".index_view"))
        else:
            _flash_form_errors(form)
        return self.render("admin/resource_upload.html", form=form, resource=None), \
            (422 if form.is_submitted() else 200)

    @expose("/<int:resource_id>/edit", methods=["GET", "POST"])
    def edit(self, resource_id: int):
        """Change title, category, tier, co-brandable flag or description (audited)."""
        resource = get_row(Resource, resource_id)
        if resource is None:
            raise NotFound("No such resource.")
        form = ResourceEditForm(obj=resource)
        form.min_tier_key.choices = _tier_choices()
        if form.validate_on_submit():
            done = run_domain(lambda: resources.update_resource(resource.id, current_user.id, {
                "title": form.title.data, "category": form.category.data,
                "min_tier_key": form.min_tier_key.data,
                "co_brandable": form.co_brandable.data,
                "description": form.description.data or ""}), "Resource saved.")
            if done is not None:
                return redirect(url_for(".index_view"))
        else:
            _flash_form_errors(form)
        return self.render("admin/resource_upload.html", form=form, resource=resource), \
            (422 if form.is_submitted() else 200)

    def _set_active(self, ids, active: bool):
        if not staff_with(*ROLES):
            return refuse()
        n = run_domain(lambda: resources.set_active([int(i) for i in ids], current_user.id,
                                                 active))
        if n is not None:
            flash(f"{'Reactivated' if active else 'Deactivated'} {n} resource(s).", "success")
        return None

    @action("deactivate", "Deactivate", "Hide the selected resources from partners?")
    def action_deactivate(self, ids):
        return self._set_active(ids, False)

    @action("reactivate", "Reactivate")
    def action_reactivate(self, ids):
        return self._set_active(ids, True)


def register_resource_views(admin) -> None:
    """Add the Resources screen (called from ``admin.views.register_views``)."""
    from core.base.extensions import db

    admin.add_view(ResourceView(Resource, db, name="Resources", endpoint="resources", url="resources",
                             category="Content"))
