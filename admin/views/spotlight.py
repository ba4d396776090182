"""Partner of the month (admins confirm), bonus pools (finance creates and settles) and
learning paths (content staff write them)."""

from datetime import UTC, datetime

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import select
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from admin.views.base import StaffModelView, StaffView, refuse, run_domain, staff_with
from core.accounts.models import User
from core.base.errors import DomainError, NotFound, ValidationError
from core.base.extensions import db
from core.base.timeutil import now_utc
from core.content import paths
from core.content.models import LearningPath
from core.engagement import pools, spotlight
from core.engagement.models import BonusPool
from core.money.cents import format_cents
from core.program.models import Partner

# --- partner of the month -------------------------------------------------------------------


class ConfirmForm(FlaskForm):
    partner_id = IntegerField("Partner", validators=[InputRequired()])
    citation = StringField("Citation (optional, one line)", validators=[Length(max=300)])


class SpotlightView(StaffView):
    """Partner of the month: the months the worker proposed, their candidates and the
    admin's confirmation (once per month)."""

    roles = ("admin",)

    def _page(self, status: int = 200):
        return self.render("admin/spotlight.html", months=spotlight.months(),
                           label=spotlight.period_label, form=ConfirmForm(),
                           cents=format_cents), status

    @expose("/")
    def index(self):
        return self._page()

    @expose("/<int:month_id>/confirm", methods=["POST"])
    def confirm(self, month_id: int):
        form = ConfirmForm()
        if not form.validate_on_submit():
            flash("Choose one of the candidates.", "error")
            return self._page(422)
        try:
            month = spotlight.confirm(current_user, month_id, form.partner_id.data,
                                      form.citation.data or "")
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return self._page(exc.status)
        flash(f"{month.partner.user.name} is partner of the month for "
              f"{spotlight.period_label(month.period)}; announced in #announcements.",
              "success")
        return redirect(url_for(".index"))


# --- bonus pools -------------------------------------------------------------------------------


class PoolForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    leader_email = StringField("Team leader's e-mail", validators=[DataRequired(),
                                                                   Length(max=254)])
    metric = SelectField("Measure", choices=[SelectChoice("deals", "Confirmed deals"),
                                             SelectChoice("revenue", "Revenue (cents)")])
    target = IntegerField("Team target (deals, or revenue in cents)",
                          validators=[InputRequired(), NumberRange(1, 100_000_000)])
    pool_cents = IntegerField("Pool (cents)",
                              validators=[InputRequired(), NumberRange(1, 100_000_000)])
    starts = StringField("Starts (YYYY-MM-DD, UTC)", validators=[DataRequired(), Length(max=10)])
    ends = StringField("Ends (YYYY-MM-DD, UTC, exclusive)",
                       validators=[DataRequired(), Length(max=10)])


def _day(text: str) -> datetime:
    try:
        return datetime.strptime(text.strip(), "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise ValidationError("Dates must look like 2026-12-01.") from None


class BonusPoolView(StaffModelView):
    """Bonus pools: finance creates a team's pool, follows the shares-to-be and settles it
    (bonus commissions awaiting approval)."""

    roles = ("finance",)
    column_list = ("id", "name", "leader", "metric", "target", "pool_cents", "starts_at",
                   "ends_at", "settled_at", "paid_cents")
    column_labels = {"pool_cents": "Pool", "paid_cents": "Paid", "leader": "Team of"}
    column_formatters = {
        "pool_cents": lambda v, c, m, n: format_cents(m.pool_cents),
        "paid_cents": lambda v, c, m, n: format_cents(m.paid_cents) if m.settled_at else "",
        "leader": lambda v, c, m, n: m.leader.user.name,
        "name": lambda v, c, m, n: Markup('<a href="{}">{}</a>').format(
            url_for("bonus_pools.pool_page", pool_id=m.id), m.name)}
    list_template = "admin/bonus_pool_list.html"

    @expose("/new", methods=["GET", "POST"])
    def create(self):
        form = PoolForm()
        status = 200
        if form.validate_on_submit():
            def make():
                leader = db.session.scalar(select(Partner).join(
                    User, User.id == Partner.user_id).where(
                    User.email == form.leader_email.data.strip().lower()))
                if leader is None:
                    raise ValidationError("No partner has this e-mail address.")
                return pools.create_pool(current_user.id, form.name.data, leader.id,
                                         form.metric.data, form.target.data,
                                         form.pool_cents.data, _day(form.starts.data),
                                         _day(form.ends.data))

            pool = run_domain(make, "Bonus pool created.")
            if pool is not None:
                return redirect(url_for(".pool_page", pool_id=pool.id))
            status = 422
        elif request.method == "POST":
            status = 422
        return self.render("admin/simple_form.html", form=form, title="New bonus pool",
                           submit="Create pool"), status

    @expose("/<int:pool_id>", methods=["GET", "POST"])
    def pool_page(self, pool_id: int):
        pool = db.session.get(BonusPool, pool_id)
        if pool is None:
            raise NotFound("No such bonus pool.")
        form = FlaskForm()
        status = 200
        if request.method == "POST" and form.validate_on_submit():
            try:
                pools.settle(pool.id, current_user.id)
                db.session.commit()
            except DomainError as exc:
                db.session.rollback()
                flash(exc.message, "error")
                status = exc.status
            else:
                flash("Settled: each member's part is a bonus commission awaiting approval.",
                      "success")
                return redirect(url_for(".pool_page", pool_id=pool.id))
        pool = db.session.get(BonusPool, pool_id)
        return self.render("admin/bonus_pool.html", s=pools.standing(pool), form=form,
                           ended=now_utc() >= pool.ends_at), status


# --- learning paths ----------------------------------------------------------------------------


class PathForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    slug = StringField("Slug (a-z, 0-9, hyphens)", validators=[DataRequired(), Length(max=80)])
    description = TextAreaField("Description", validators=[Length(max=1000)])
    modules = TextAreaField("Modules in order: one training module slug per line",
                            validators=[DataRequired(), Length(max=5000)])
    active = BooleanField("Active (partners see it)", default=True)


class LearningPathView(StaffModelView):
    """Learning paths: ordered training modules; passing all of them earns a certificate."""

    roles = ("content",)
    column_list = ("id", "title", "slug", "active", "updated_at")
    column_formatters = {"title": lambda v, c, m, n: Markup('<a href="{}">{}</a>').format(
        url_for("learning_paths.edit_path", path_id=m.id), m.title)}
    list_template = "admin/learning_path_list.html"

    def _save(self, path_id, form):
        status = 200
        if form.validate_on_submit():
            path = run_domain(lambda: paths.save_path(
                current_user.id, path_id, form.slug.data, form.title.data,
                form.description.data, form.modules.data, form.active.data), "Path saved.")
            if path is not None:
                return redirect(url_for(".index_view"))
            status = 422
        elif request.method == "POST":
            status = 422
        modules = list(db.session.scalars(select(paths.TrainingModule).order_by(
            paths.TrainingModule.position, paths.TrainingModule.id)))
        return self.render("admin/learning_path_form.html", form=form, modules=modules,
                           title="Edit learning path" if path_id else "New learning path"), status

    @expose("/new", methods=["GET", "POST"])
    def new_path(self):
        if not staff_with("content"):
            return refuse()
        return self._save(None, PathForm())

    @expose("/<int:path_id>/edit", methods=["GET", "POST"])
    def edit_path(self, path_id: int):
        path = db.session.get(LearningPath, path_id)
        if path is None:
            raise NotFound("No such learning path.")
        form = PathForm(data=None if request.method == "POST" else {
            "title": path.title, "slug": path.slug, "description": path.description,
            "modules": "\n".join(s.module.slug for s in path.steps), "active": path.active})
        return self._save(path.id, form)
