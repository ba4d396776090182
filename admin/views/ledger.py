"""Money screens: commissions, payouts, statements, and the audit log."""

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.contrib.sqla.filters import DateTimeBetweenFilter
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from wtforms import IntegerField, StringField
from wtforms.validators import DataRequired, Length, NumberRange

from admin.views.base import StaffModelView, needs_reauth, refuse, run_domain, staff_with
from core import commissions, payouts, statements
from core.errors import DomainError, NotFound
from core.extensions import db, get_row
from core.models import AuditLog, Commission, Partner, Payout, Statement, User
from core.money import format_cents
from core.timeutil import now_utc


def _money(view, context, model, name):
    return format_cents(getattr(model, name) or 0)


class CommissionView(StaffModelView):
    """Commissions with filters; finance approves in bulk."""

    roles = ("finance",)
    list_options = (joinedload(Commission.partner).joinedload(Partner.user),)
    column_list = ("id", "partner", "type", "amount_cents", "rate_bps", "status", "deal_id",
                   "payout_id", "hold_until", "created_at", "note")
    column_labels = {"amount_cents": "Amount", "rate_bps": "Rate (bps)"}
    column_filters = ("status", "type", "partner.referral_code",
                      DateTimeBetweenFilter(Commission.created_at, "Created"))
    column_sortable_list = ("id", "amount_cents", "status", "created_at")
    column_default_sort = ("id", True)
    column_formatters = {"amount_cents": _money}

    @action("approve", "Approve", "Approve the selected commissions now?")
    def action_approve(self, ids):
        if not staff_with("finance"):
            return refuse()
        rows = run_domain(lambda: commissions.approve_commissions([int(i) for i in ids],
                                                                  current_user.id))
        if rows:
            flash(f"Approved {len(rows)} commission(s).", "success")


class PayoutCreateForm(FlaskForm):
    """Finance makes a payout of a partner's approved balance."""

    partner_id = IntegerField("Partner id", validators=[DataRequired(), NumberRange(min=1)])


class ReferenceForm(FlaskForm):
    """The manual payment reference (bank wire id, etc.)."""

    reference = StringField("Payment reference", validators=[DataRequired(), Length(max=120)])


class PayoutView(StaffModelView):
    """Payouts: approval queue; approving enqueues the transfer (finance only)."""

    roles = ("finance",)
    list_template = "admin/payout_list.html"
    list_options = (joinedload(Payout.partner).joinedload(Partner.user),)
    column_list = ("id", "partner", "amount_cents", "status", "gateway", "reference",
                   "failure_message", "created_at", "approved_at", "paid_at", "record")
    column_labels = {"amount_cents": "Amount", "record": ""}
    column_filters = ("status", "gateway", DateTimeBetweenFilter(Payout.created_at, "Created"))
    column_default_sort = ("id", True)

    def _record_link(view, context, model, name):
        if model.status in ("approved", "processing") and model.gateway == "manual":
            return Markup('<a class="btn btn-sm btn-primary" href="{}">Record payment</a>').format(
                url_for("payouts.record", payout_id=model.id))
        return ""

    column_formatters = {"amount_cents": _money, "record": _record_link}

    @action("approve", "Approve payout", "Approve the selected payouts? Money will be sent.")
    def action_approve(self, ids):
        if not staff_with("finance"):
            return refuse()
        if (r := needs_reauth()) is not None:
            return r
        done = 0
        for pid in ids:
            try:
                payouts.approve_payout(int(pid), current_user._get_current_object())
                db.session.commit()
                done += 1
            except DomainError as exc:
                db.session.rollback()  # core keeps the refusal's audit row on its own
                flash(f"Payout #{pid}: {exc.message}", "error")
        if done:
            flash(f"Approved {done} payout(s); transfers are queued.", "success")

    @expose("/new", methods=["GET", "POST"])
    def create(self):
        if not staff_with("finance"):
            return refuse()
        form = PayoutCreateForm(partner_id=request.args.get("partner_id", type=int))
        if form.validate_on_submit():
            p = run_domain(lambda: payouts.create_payout(form.partner_id.data, current_user.id))
            if p is not None:
                flash(f"Payout #{p.id} of {format_cents(p.amount_cents)} requested.", "success")
                return redirect(url_for("payouts.index_view"))
        ready = db.session.execute(
            select(Partner.id, User.name).join(User, User.id == Partner.user_id)
            .where(Partner.status == "active").order_by(Partner.id).limit(200)).all()
        minimum = payouts.payout_minimum_cents()
        eligible = [(pid, name, payouts.available_cents(pid)) for pid, name in ready]
        eligible = [e for e in eligible if e[2] >= minimum]
        return self.render("admin/payout_new.html", form=form, eligible=eligible,
                           minimum=minimum)

    @expose("/record/<int:payout_id>", methods=["GET", "POST"])
    def record(self, payout_id: int):
        if not staff_with("finance"):
            return refuse()
        payout = get_row(Payout, payout_id)
        if payout is None:
            raise NotFound("No such payout.")
        form = ReferenceForm()
        if form.validate_on_submit():
            if run_domain(lambda: payouts.mark_paid(payout, form.reference.data,
                                                    current_user.id),
                          f"Payout #{payout.id} recorded as paid.") is not None:
                return redirect(url_for("payouts.index_view"))
        return self.render("admin/payout_record.html", payout=payout, form=form)


class StatementForm(FlaskForm):
    """One partner and one month."""

    partner_id = IntegerField("Partner id", validators=[DataRequired(), NumberRange(min=1)])
    period = StringField("Month (YYYY-MM)", validators=[DataRequired(), Length(max=7)])


class StatementView(StaffModelView):
    """Statements: generate for a partner and month; download when ready."""

    roles = ("finance",)
    list_template = "admin/statement_list.html"
    list_options = (joinedload(Statement.partner).joinedload(Partner.user),)
    column_list = ("id", "partner", "year", "month", "version", "opening_cents",
                   "earned_cents", "reversed_cents", "paid_cents", "closing_cents", "status",
                   "download")
    column_labels = {"opening_cents": "Opening", "earned_cents": "Earned",
                     "reversed_cents": "Reversed", "paid_cents": "Paid",
                     "closing_cents": "Closing", "download": ""}
    column_filters = ("status", "year", "month")
    column_default_sort = ("id", True)

    def _download(view, context, model, name):
        if model.status == "failed":
            return Markup('<span class="badge badge-danger">failed</span> '
                          '<small class="text-danger">{}</small>').format(model.error)
        if model.status != "ready":
            return Markup('<span class="badge badge-warning">{}</span>').format(model.status)
        return Markup('<a class="btn btn-sm btn-primary" href="{}">Download PDF</a>').format(
            url_for("portal.statement_download", statement_id=model.id))

    column_formatters = {k: _money for k in ("opening_cents", "earned_cents", "reversed_cents",
                                             "paid_cents", "closing_cents")}
    column_formatters["download"] = _download

    @expose("/new", methods=["GET", "POST"])
    def create(self):
        if not staff_with("finance"):
            return refuse()
        now = now_utc()
        form = StatementForm(period=request.args.get("period", f"{now.year:04d}-{now.month:02d}"),
                             partner_id=request.args.get("partner_id", type=int))
        if form.validate_on_submit():
            def issue():
                year, month = statements.parse_period(form.period.data)
                return statements.issue_statement(form.partner_id.data, year, month,
                                                  current_user.id)

            st = run_domain(issue)
            if st is not None:
                flash(f"Statement {st.period} v{st.version} queued for rendering.", "success")
                return redirect(url_for("statements.index_view"))
        return self.render("admin/statement_new.html", form=form)


class AuditLogView(StaffModelView):
    """Read-only audit trail."""

    roles = ("admin",)
    can_view_details = True
    list_options = (joinedload(AuditLog.actor),)
    column_list = ("id", "created_at", "actor", "action", "object_type", "object_id", "before",
                   "after")
    column_filters = ("action", "object_type", "object_id",
                      DateTimeBetweenFilter(AuditLog.created_at, "Created"))
    column_default_sort = ("id", True)

    def is_accessible(self):
        return staff_with("admin", "finance")
