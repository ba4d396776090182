"""The playbook library in the back office (content role): write and edit playbooks, and
the review queue of partners' submissions with Publish and Reject (with a note).

Thin: the rules, the audit rows and the author's notification are in ``core.community.playbooks``,
which checks the content role again."""

from flask import flash, redirect, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy.orm import joinedload
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from admin.views.base import StaffModelView, StaffView, refuse, run_domain, staff_with
from core.community import playbooks
from core.community.models import PLAYBOOK_STATUSES, Playbook

ROLES = ("content",)


class PlaybookForm(FlaskForm):
    """A partner's playbook as staff edit it: the content only (its status changes in the
    review queue, which tells the author)."""

    title = StringField("Title (5–120 characters)",
                        validators=[DataRequired(), Length(min=5, max=120)])
    industry = SelectField("Industry", choices=[SelectChoice(i, i) for i in playbooks.INDUSTRIES])
    kind = SelectField("Kind", choices=[SelectChoice(k, v) for k, v in playbooks.KINDS.items()])
    body = TextAreaField("Body (Markdown: ## headings, - lists, **bold**, [links](https://…), "
                         "tables; 50–20,000 characters)",
                         validators=[DataRequired(), Length(min=50, max=20000)],
                         render_kw={"rows": 18})


class StaffPlaybookForm(PlaybookForm):
    """A playbook staff write: the content and whether partners see it yet."""

    status = SelectField("Status", choices=[SelectChoice("published", "Published (partners see it)"),
                                            SelectChoice("draft", "Draft (hidden)")])


def _author(view, context, model, name) -> str:
    if model.author is None:
        return ""
    return f"{playbooks.STAFF_AUTHOR} ({model.author.name})" if model.author.is_staff \
        else model.author.name


def _reviewer(view, context, model, name) -> str:
    return model.reviewed_by.name if model.reviewed_by else ""


def _status(view, context, model, name):
    colour = {"published": "success", "submitted": "warning", "rejected": "secondary",
              "draft": "light"}[model.status]
    return Markup('<span class="badge badge-{}">{}</span>').format(
        colour, playbooks.STATUS_LABELS[model.status])


class PlaybookView(StaffModelView):
    """Playbooks: every status, filtered by status, industry and kind; write one (draft or
    published), edit any. Partners' submissions are decided in the review queue."""

    roles = ROLES
    can_create = True
    can_edit = True
    list_template = "admin/playbook_list.html"
    list_options = (joinedload(Playbook.author),)
    column_list = ("id", "title", "industry", "kind", "status", "author", "upvote_count",
                   "published_at", "updated_at")
    column_details_list = ("id", "title", "industry", "kind", "status", "author",
                           "upvote_count", "review_note", "reviewed_by", "reviewed_at",
                           "published_at", "created_at", "updated_at", "body")
    column_labels = {"upvote_count": "Upvotes", "review_note": "Reviewer's note"}
    column_searchable_list = ("title",)
    column_sortable_list = ("id", "title", "industry", "kind", "status", "upvote_count",
                            "published_at", "updated_at")
    column_default_sort = ("id", True)
    column_formatters = {"author": _author, "status": _status}
    column_formatters_detail = {"author": _author, "status": _status,
                                "reviewed_by": _reviewer}
    column_filters = (
        FilterEqual(Playbook.status, "Status",
                    options=[(s, playbooks.STATUS_LABELS[s]) for s in PLAYBOOK_STATUSES]),
        FilterEqual(Playbook.industry, "Industry", options=[(i, i) for i in playbooks.INDUSTRIES]),
        FilterEqual(Playbook.kind, "Kind", options=list(playbooks.KINDS.items())),
    )

    def create_form(self, obj=None):
        return StaffPlaybookForm()

    def edit_form(self, obj=None):
        if obj is not None and obj.author is not None and obj.author.is_staff:
            return StaffPlaybookForm(obj=obj)
        return PlaybookForm(obj=obj)

    def create_model(self, form):
        return run_domain(lambda: playbooks.save_playbook(
            current_user, None, title=form.title.data, industry=form.industry.data,
            kind=form.kind.data, body=form.body.data, status=form.status.data)) or False

    def update_model(self, form, model):
        status = form.status.data if "status" in form else None
        return run_domain(lambda: playbooks.save_playbook(
            current_user, model.id, title=form.title.data, industry=form.industry.data,
            kind=form.kind.data, body=form.body.data, status=status)) is not None


class ReviewForm(FlaskForm):
    """The reviewer's note to the author (required to reject)."""

    note = TextAreaField("Note to the author", validators=[Length(max=playbooks.NOTE_MAX)],
                         render_kw={"rows": 2})


class PlaybookReviewView(StaffView):
    """Partners' submissions waiting for review, oldest first, each shown as partners
    would read it, with Publish and Reject (the note says why; the author reads it)."""

    roles = ROLES

    @expose("/")
    def index(self):
        rows, count = playbooks.review_queue()
        return self.render("admin/playbook_review.html", rows=rows, count=count,
                           bodies={pb.id: playbooks.body_html(pb) for pb in rows},
                           author=lambda pb: _author(None, None, pb, "author"),
                           kinds=playbooks.KINDS, form=ReviewForm())

    def _decide(self, playbook_id: int, decision: str):
        if not staff_with(*ROLES):
            return refuse()
        form = ReviewForm()
        if not form.validate_on_submit():
            flash("That review was not accepted; reload the page and try again.", "error")
        else:
            pb = run_domain(lambda: playbooks.review_playbook(
                current_user, playbook_id, decision, form.note.data))
            if pb is not None:
                flash(f"“{pb.title}” is {'published' if decision == 'publish' else 'rejected'}"
                      f"; its author has been told.", "success")
        return redirect(url_for(".index"))

    @expose("/<int:playbook_id>/publish", methods=["POST"])
    def publish(self, playbook_id: int):
        return self._decide(playbook_id, "publish")

    @expose("/<int:playbook_id>/reject", methods=["POST"])
    def reject(self, playbook_id: int):
        return self._decide(playbook_id, "reject")


def register_playbook_views(admin) -> None:
    """Add the Playbooks screen and the review queue (from ``admin.views.register_views``)."""
    from core.base.extensions import db

    admin.add_view(PlaybookView(Playbook, db, name="Playbooks", endpoint="playbooks",
                                url="playbooks", category="Content"))
    admin.add_view(PlaybookReviewView(name="Playbook review", endpoint="playbook_review",
                                      url="playbook-review", category="Content"))
