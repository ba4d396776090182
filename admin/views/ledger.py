"""Money screens: commissions, payouts, statements, and the audit log."""

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.contrib.sqla.filters import (
    DateTimeBetweenFilter,
    FilterEmpty,
    FilterEqual,
    IntEqualFilter,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from wtforms import BooleanField, DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length

from admin.views.base import (
    StaffModelView,
    StaffView,
    needs_reauth,
    percent,
    refuse,
    run_domain,
    staff_with,
)
from admin.views.fields import partner_field, partner_text
from core.accounts.models import User
from core.base import outbox as tasks
from core.base.audit import OBJECT_TYPES, staff_choices
from core.base.errors import DomainError, NotFound
from core.base.extensions import db, get_row
from core.base.models import AuditLog
from core.base.timeutil import now_utc
from core.money import commissions, payouts, statements
from core.money.cents import format_cents
from core.money.models import Commission, Payout, Statement
from core.program.models import Partner


def _money(view, context, model, name):
    return format_cents(getattr(model, name) or 0)


class CommissionView(StaffModelView):
    """Commissions with filters; finance approves in bulk."""

    roles = ("finance",)
    list_options = (joinedload(Commission.partner).joinedload(Partner.user),)
    column_list = ("id", "partner", "type", "amount_cents", "rate_bps", "status", "deal_id",
                   "payout_id", "hold_until", "created_at", "note")
    column_labels = {"amount_cents": "Amount", "rate_bps": "Rate"}
    column_filters = ("status", "type", "partner.referral_code",
                      DateTimeBetweenFilter(Commission.created_at, "Created"))
    column_sortable_list = ("id", "amount_cents", "status", "created_at")
    column_default_sort = ("id", True)
    column_formatters = {"amount_cents": _money, "rate_bps": percent}

    @action("approve", "Approve", "Approve the selected commissions now?")
    def action_approve(self, ids):
        if not staff_with("finance"):
            return refuse()
        rows = run_domain(lambda: commissions.approve_commissions([int(i) for i in ids],
                                                                  current_user.id))
        if rows:
            flash(f"Approved {len(rows)} commission(s).", "success")

    # Hold and reverse need a reason: the action only opens the reason page.
    @action("hold", "Hold with reason…")
    def action_hold(self, ids):
        if not staff_with("finance"):
            return refuse()
        return redirect(url_for(".reason", kind="hold", ids=",".join(ids)))

    @action("reverse", "Reverse with reason…")
    def action_reverse(self, ids):
        if not staff_with("finance"):
            return refuse()
        return redirect(url_for(".reason", kind="reverse", ids=",".join(ids)))

    @expose("/reason/<kind>", methods=["GET", "POST"])
    def reason(self, kind: str):
        """The reason page of a hold or reversal of the selected commissions: shows what
        will happen, refuses an empty reason, then runs the core rule for all of them."""
        if not staff_with("finance"):
            return refuse()
        if kind not in BULK_REASON:
            raise NotFound("No such action.")
        title, verb, rule = BULK_REASON[kind]
        form = BulkReasonForm(ids=request.args.get("ids", ""))
        ids = _id_list(form.ids.data)
        if ids is None:
            flash("Choose commissions in the list first.", "error")
            return redirect(url_for(".index_view"))
        rows = db.session.scalars(select(Commission).where(Commission.id.in_(ids))
                                  .options(*self.list_options).order_by(Commission.id)).all()
        if form.validate_on_submit():
            done = run_domain(lambda: getattr(commissions, rule)(ids, current_user.id,
                                                                 form.reason.data))
            if done is not None:
                flash(f"{verb} {len(done)} commission(s).", "success")
                return redirect(url_for(".index_view"))
        status = 422 if request.method == "POST" else 200
        return self.render("admin/commission_reason.html", form=form, rows=rows, kind=kind,
                           title=title, missing=len(ids) - len(rows)), status


class BulkReasonForm(FlaskForm):
    """The reason for holding or reversing the chosen commissions (their ids hidden)."""

    ids = HiddenField()
    reason = TextAreaField("Reason (kept in the audit trail)", validators=[
        DataRequired("Give a reason: it is kept in the audit trail."),
        Length(max=commissions.MAX_REASON)])


#: kind → (page title, past-tense verb for the message, core function).
BULK_REASON = {
    "hold": ("Put commissions on hold", "Held", "hold_commissions"),
    "reverse": ("Reverse commissions", "Reversed", "reverse_commissions"),
}


def _id_list(text) -> list[int] | None:
    """``"3,1,2"`` → ``[3, 1, 2]``; ``None`` when empty or not ids (at most 1,000)."""
    parts = [p.strip() for p in (text or "").split(",") if p.strip()]
    if not parts or len(parts) > 1000 or not all(p.isdigit() and len(p) < 12 for p in parts):
        return None
    return [int(p) for p in parts]


class PayoutCreateForm(FlaskForm):
    """Finance makes a payout of a partner's approved balance (partner picked by name)."""

    partner_id = partner_field("Partner")


class ReferenceForm(FlaskForm):
    """The manual payment reference (bank wire id, etc.)."""

    reference = StringField("Payment reference", validators=[DataRequired(), Length(max=120)])


def _tax_hold(payout: Payout) -> str:
    """Why the tax gate holds a requested payout (a sentence), or ``""``."""
    from core.payments.tax import TaxFormMissing, require_tax_form

    try:
        require_tax_form(payout.partner)
    except TaxFormMissing as exc:
        return "tax form expired" if exc.code == "tax_form_expired" else "no verified tax form"
    return ""


class PayoutView(StaffModelView):
    """Payouts: approval queue; approving enqueues the transfer (finance only)."""

    roles = ("finance",)
    list_template = "admin/payout_list.html"
    list_options = (joinedload(Payout.partner).joinedload(Partner.user),)
    column_list = ("id", "partner", "amount_cents", "status", "gateway", "payee", "reference",
                   "failure_message", "created_at", "approved_at", "paid_at", "record")
    column_labels = {"amount_cents": "Amount", "record": "", "gateway": "Method"}
    column_filters = ("status", "gateway", DateTimeBetweenFilter(Payout.created_at, "Created"))
    column_default_sort = ("id", True)

    def _record_link(view, context, model, name):
        if model.status == "requested":
            held = _tax_hold(model)
            if held:
                return Markup('<span class="badge badge-warning" title="{}">Held: {}</span>'
                              ).format(held, held)
        if model.status in ("approved", "processing") and model.gateway in ("manual",
                                                                            "bank_transfer"):
            return Markup('<a class="btn btn-sm btn-primary" href="{}">Record payment</a>').format(
                url_for("payouts.record", payout_id=model.id))
        if model.status == "failed":
            return Markup('<a class="btn btn-sm btn-outline-primary" href="{}">Retry</a>').format(
                url_for("payouts.retry", payout_id=model.id))
        return ""

    def render(self, template, **kwargs):
        """The list page also shows the approval queue's count and total."""
        if template == self.list_template:
            kwargs["queue"] = payouts.requested_totals()
            kwargs["batch_form"] = FlaskForm()
        return super().render(template, **kwargs)

    column_formatters = {"amount_cents": _money, "record": _record_link}

    @action("approve", "Approve payout", "Approve the selected payouts? Money will be sent.")
    def action_approve(self, ids):
        if not staff_with("finance"):
            return refuse()
        if (r := needs_reauth()) is not None:
            return r
        approved = []
        for pid in ids:
            try:
                approved.append(payouts.approve_payout(
                    int(pid), current_user._get_current_object(), send=False).id)
                db.session.commit()
            except DomainError as exc:
                db.session.rollback()  # core keeps the refusal's audit row on its own
                flash(f"Payout #{pid}: {exc.message}", "error")
        done = len(approved)
        if approved:  # PayPal ones in one batch for the run, the others one by one
            payouts.queue_transfers([payouts.get_payout(pid) for pid in approved])
            db.session.commit()
        if done and tasks.jobs_not_queued():
            flash(f"Approved {done} payout(s). The job queue is not answering right now, so "
                  "the transfers are queued for later: they are sent automatically within "
                  "minutes of it coming back, once each.", "warning")
        elif done:
            flash(f"Approved {done} payout(s); transfers are queued.", "success")

    @expose("/bank-file")
    def bank_file(self):
        """CSV of the bank transfers to make (approved or processing bank payouts)."""
        from admin.views.payments import bank_file_response

        if not staff_with("finance"):
            return refuse()
        if (r := needs_reauth()) is not None:
            return r
        return bank_file_response(current_user.id)

    @expose("/new", methods=["GET", "POST"])
    def create(self):
        if not staff_with("finance"):
            return refuse()
        form = PayoutCreateForm(partner_id=partner_text(request.args.get("partner_id", type=int)))
        if form.validate_on_submit():
            from core.program.partners import resolve_partner

            p = run_domain(lambda: payouts.create_payout(resolve_partner(form.partner_id.data),
                                                         current_user.id))
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

    @expose("/batch", methods=["POST"])
    def batch(self):
        """Create a payout for every active partner over the minimum (core's batch)."""
        if not staff_with("finance"):
            return refuse()
        if not FlaskForm().validate_on_submit():
            flash("That request was not accepted; reload the page and try again.", "error")
            return redirect(url_for(".index_view"))
        made = run_domain(lambda: payouts.create_payouts_for_all(current_user.id))
        if made:
            flash(f"Created {len(made)} payout(s) totalling "
                  f"{format_cents(sum(p.amount_cents for p in made))}; they wait for "
                  "approval.", "success")
        elif made is not None:
            flash("No partner has an approved balance over the minimum without a payout "
                  "already waiting.", "info")
        return redirect(url_for(".index_view", flt1_status_equals="requested"))

    @expose("/retry/<int:payout_id>", methods=["GET", "POST"])
    def retry(self, payout_id: int):
        """Retry a failed payout: shows the failure and the balance a new payout would
        pay, then asks core to make and approve it (password again after 15 minutes)."""
        if not staff_with("finance"):
            return refuse()
        payout = get_row(Payout, payout_id)
        if payout is None:
            raise NotFound("No such payout.")
        form = FlaskForm()
        if request.method == "POST":
            if (r := needs_reauth()) is not None:
                return r
            if form.validate_on_submit():
                new = run_domain(lambda: payouts.retry_payout(
                    payout.id, current_user._get_current_object()))
                if new is not None:
                    flash(f"Payout #{payout.id} retried as payout #{new.id} of "
                          f"{format_cents(new.amount_cents)}; "
                          + ("its transfer is queued." if new.status != "requested" else
                             "under the four-eyes rule someone else in finance approves it."),
                          "success")
                    return redirect(url_for(".index_view"))
        return self.render("admin/payout_retry.html", payout=payout, form=form,
                           balance=payouts.available_cents(payout.partner_id),
                           retried_as=payouts.retried_as(payout.id)), \
            (422 if request.method == "POST" else 200)

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
    """One partner (picked by name) and one month."""

    partner_id = partner_field("Partner")
    period = StringField("Month (YYYY-MM)", validators=[DataRequired(), Length(max=7)])
    open_month_ok = BooleanField("Issue it although the month is still open")


def open_month_confirmed(form) -> bool:
    """False (with the warning on the month field) when ``form.period`` is the current,
    still-open month and ``form.open_month_ok`` is not ticked; True otherwise (also for
    a malformed month, which core refuses with its own message). Rules: "Statements"."""
    try:
        year, month = statements.parse_period(form.period.data)
    except DomainError:
        return True
    warning = statements.open_month_warning(year, month)
    if not warning or form.open_month_ok.data:
        return True
    form.period.errors = [f"{warning} Tick \"{form.open_month_ok.label.text}\" to go ahead."]
    return False


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
        form = StatementForm(period=request.args.get("period", statements.last_closed_period()),
                             partner_id=partner_text(request.args.get("partner_id", type=int)))
        if form.validate_on_submit() and open_month_confirmed(form):
            def issue():
                from core.program.partners import resolve_partner

                year, month = statements.parse_period(form.period.data)
                return statements.issue_statement(resolve_partner(form.partner_id.data), year,
                                                  month, current_user.id)

            st = run_domain(issue)
            if st is not None:
                flash(f"Statement {st.period} v{st.version} queued for rendering.", "success")
                return redirect(url_for("statements.index_view"))
        return self.render("admin/statement_new.html", form=form)


class ExportForm(FlaskForm):
    """A CSV export: what, and which days (both included, UTC)."""

    kind = SelectField("Rows", choices=[SelectChoice("ledger", "Commissions and payouts"),
                                        SelectChoice("commissions", "Commissions only"),
                                        SelectChoice("payouts", "Payouts only")])
    first = DateField("First day", validators=[InputRequired("Give the first day.")])
    last = DateField("Last day (included)", validators=[InputRequired("Give the last day.")])


class ExportView(StaffView):
    """Finance downloads commissions and/or payouts of a date range as CSV (the API's
    export, ``core.money.exports``; text cells are guarded against spreadsheet formulas)."""

    roles = ("finance",)

    @expose("/", methods=["GET", "POST"])
    def index(self):
        from datetime import timedelta

        from flask import Response

        from core.money import exports

        if not staff_with("finance"):
            return refuse()
        today = now_utc().date()
        last_month_end = today.replace(day=1) - timedelta(days=1)
        form = ExportForm(first=last_month_end.replace(day=1), last=last_month_end)
        if form.validate_on_submit():
            def build():
                start, end = exports.parse_day_range(form.first.data, form.last.data)
                return start, end, exports.ledger_csv(start, end, form.kind.data)

            try:
                start, end, body = build()
            except DomainError as exc:
                form.last.errors = [exc.message]
            else:
                name = (f"siso-{form.kind.data}-{start:%Y%m%d}-"
                        f"{end - timedelta(days=1):%Y%m%d}.csv")
                return Response(body, mimetype="text/csv", headers={
                    "Content-Disposition": f'attachment; filename="{name}"'})
        return self.render("admin/exports.html", form=form, nec_form=FlaskForm(),
                           nec_year=today.year - 1), \
            (422 if request.method == "POST" else 200)

    @expose("/1099-nec", methods=["POST"])
    def nec(self):
        """Year-end 1099-NEC CSV of a calendar year (finance; password again after 15
        minutes): payer and payee TINs, names, addresses, box 1, and every payment with its
        method. An optional threshold (dollars) sets the year's reporting threshold first."""
        from flask import Response

        from core.money.cents import parse_dollars
        from core.payments import yearend

        if not staff_with("finance"):
            return refuse()
        if (r := needs_reauth()) is not None:
            return r
        if not FlaskForm().validate_on_submit():
            flash("That request was not accepted; reload the page and try again.", "error")
            return redirect(url_for(".index")), 303
        try:
            year = int(request.form.get("year", ""))
            if request.form.get("threshold", "").strip():
                yearend.set_threshold(year, parse_dollars(request.form["threshold"]),
                                      current_user.id)
            body = yearend.nec_csv(year, current_user.id)
            db.session.commit()
        except (ValueError, DomainError) as exc:
            db.session.rollback()
            flash(getattr(exc, "message", "Enter a year (e.g. 2026) and an amount in dollars."),
                  "error")
            return redirect(url_for(".index")), 303
        return Response(body, mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="siso-1099-nec-{year}.csv"',
            "Cache-Control": "no-store"})


class StaffActorFilter(IntEqualFilter):
    """"Actor equals <staff member>": a drop-down of the staff, read on every page view
    (``AuditLogView._get_filter_groups``), so new staff appear without a restart."""

    def operation(self):
        return "is"


class AuditLogView(StaffModelView):
    """Read-only audit trail, filtered by actor, target type and id, action and date."""

    roles = ("admin",)
    can_view_details = True
    list_options = (joinedload(AuditLog.actor), joinedload(AuditLog.api_key))
    column_list = ("id", "created_at", "actor", "api_key", "action", "object_type", "object_id",
                   "before", "after")
    column_labels = {"object_type": "Target type", "object_id": "Target id",
                     "api_key": "Via API key"}
    column_formatters = {"api_key": lambda v, c, m, n: m.api_key.name if m.api_key else "",
                         "actor": lambda v, c, m, n: (f"{m.actor.name} ({m.actor.email})"
                                                      if m.actor else "system")}
    column_filters = (StaffActorFilter(AuditLog.actor_id, "Actor"),
                      FilterEmpty(AuditLog.actor_id, "Actor"),
                      FilterEqual(AuditLog.object_type, "Target type",
                                  options=[(t, t) for t in OBJECT_TYPES]),
                      "object_id", "action",
                      DateTimeBetweenFilter(AuditLog.created_at, "Created"))
    column_default_sort = ("id", True)

    def _get_filter_groups(self):
        groups = super()._get_filter_groups()
        for items in (groups or {}).values():
            for item in items:
                if isinstance(self._filters[item["index"]], StaffActorFilter):
                    item["options"] = staff_choices()
        return groups

    def is_accessible(self):
        return staff_with("admin", "finance")
