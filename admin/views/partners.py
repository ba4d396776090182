"""Partners, leads and deals screens."""

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.contrib.sqla import tools
from flask_admin.contrib.sqla.filters import BaseSQLAFilter, IntEqualFilter
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased, contains_eager, joinedload
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from admin.views.base import StaffModelView, StaffView, needs_reauth, refuse, run_domain, staff_with
from admin.views.fields import partner_field, partner_text
from core.accounts.models import User
from core.base.errors import NotFound, ValidationError
from core.base.extensions import db, get_row
from core.money import commissions
from core.money.cents import format_cents, parse_dollars
from core.money.models import Deal
from core.program import partners
from core.program.models import Lead, Partner


def _money(view, context, model, name):
    return format_cents(getattr(model, name) or 0)


class OverrideForm(FlaskForm):
    """Staff override of tier and/or base rate (empty = no change of that part)."""

    tier = SelectField("Tier", choices=[])
    base_rate_bps = StringField("Custom base rate (%, e.g. 27.5; empty for the tier's)",
                                validators=[Length(max=8)],
                                render_kw={"inputmode": "decimal"})
    reason = StringField("Reason (shown in the audit trail)",
                         validators=[DataRequired(), Length(max=500)])
    expires = StringField("Expires (YYYY-MM-DD, empty for never)", validators=[Length(max=10)])


class RejectForm(FlaskForm):
    """Why an application is turned down (sent to the applicant)."""

    reason = TextAreaField("Reason (the applicant receives it by notice and e-mail)",
                           validators=[DataRequired(), Length(max=1000)])


class TeamForm(FlaskForm):
    """Team leader and recruiter, picked by name (empty = none)."""

    team_leader_id = partner_field("Team leader (empty for none)", required=False)
    recruiter_id = partner_field("Recruiter (empty for none)", required=False)


def _opt_percent(text: str, label: str):
    """A percentage typed by staff (``27.5``, ``27.5%``) in basis points, or ``None``
    when empty. Raises ``ValidationError`` unless 0-100 with at most two decimals."""
    from decimal import Decimal, InvalidOperation

    text = (text or "").strip().rstrip("%").strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValidationError(f"{label} must be a percentage such as 27.5.") from None
    bps = value * 100
    if not value.is_finite() or bps != bps.to_integral_value() or not 0 <= value <= 100:
        raise ValidationError(f"{label} must be between 0 and 100 % with at most two "
                              "decimals.")
    return int(bps)


def _opt_partner(text: str, label: str):
    """The partner a picker names, or ``None`` when it is empty."""
    return partners.resolve_partner(text, label) if (text or "").strip() else None


class PartnerProfileMixin:
    """The partner page: who they are, their effective tier and why, money, trail."""

    @expose("/profile/<int:partner_id>", methods=["GET"])
    def profile(self, partner_id: int):
        from core.base.models import AuditLog
        from core.money.earnings import earnings_summary
        from core.money.models import Deal, Payout
        from core.program.tiers import all_tiers, tier_status
        from core.support.models import SupportTicket

        p = db.session.get(Partner, partner_id)
        if p is None:
            raise NotFound("No such partner.")
        override = OverrideForm(prefix="ov")
        override.tier.choices = [SelectChoice("", "(keep the computed tier)")] + [
            SelectChoice(t.key, t.name) for t in all_tiers()]
        team = TeamForm(prefix="tm", team_leader_id=partner_text(p.team_leader_id),
                        recruiter_id=partner_text(p.recruiter_id))
        deals = db.session.scalars(select(Deal).where(Deal.partner_id == p.id)
                                   .order_by(Deal.id.desc()).limit(50)).all()
        pays = db.session.scalars(select(Payout).where(Payout.partner_id == p.id)
                                  .order_by(Payout.id.desc()).limit(20)).all()
        tickets = db.session.scalars(select(SupportTicket).where(
            SupportTicket.partner_id == p.id).order_by(SupportTicket.id.desc()).limit(20)).all()
        team_size = db.session.scalar(select(func.count()).select_from(Partner).where(
            Partner.team_leader_id == p.id))
        trail = db.session.scalars(select(AuditLog).where(
            AuditLog.object_type == "partner", AuditLog.object_id == p.id)
            .order_by(AuditLog.id.desc()).limit(50)).all()
        return self.render("admin/partner_profile.html", p=p, status=tier_status(p),
                           reset_form=FlaskForm(prefix="pw"), approve_form=FlaskForm(prefix="ap"),
                           reject_form=RejectForm(prefix="rj"),
                           money=earnings_summary(p.id), deals=deals, payouts=pays, trail=trail,
                           override=override, team=team, tickets=tickets, team_size=team_size,
                           can_open_tickets=staff_with("support"))

    @expose("/profile/<int:partner_id>/override", methods=["POST"])
    def override(self, partner_id: int):
        from datetime import UTC, datetime

        from core.program.tiers import all_tiers, set_override

        if not staff_with("admin"):
            return refuse()
        if (r := needs_reauth()) is not None:
            return r
        form = OverrideForm(prefix="ov")
        form.tier.choices = [SelectChoice("", "")] + [SelectChoice(t.key, t.name)
                                                     for t in all_tiers()]
        if not form.validate_on_submit():
            flash("Give a reason for the override.", "error")
            return redirect(url_for(".profile", partner_id=partner_id))

        def apply():
            rate = _opt_percent(form.base_rate_bps.data, "The custom base rate")
            expires = None
            if (form.expires.data or "").strip():
                try:
                    expires = datetime.strptime(form.expires.data.strip(), "%Y-%m-%d").replace(
                        tzinfo=UTC)
                except ValueError:
                    raise ValidationError("Expiry must look like 2026-12-31.") from None
            return set_override(partner_id, current_user.id, form.tier.data or None, rate,
                                form.reason.data, expires)

        run_domain(apply, "Override saved.")
        return redirect(url_for(".profile", partner_id=partner_id))

    @expose("/profile/<int:partner_id>/approve", methods=["POST"])
    def approve(self, partner_id: int):
        """Approve this application (admin; rules: "Partners")."""
        if not staff_with("admin"):
            return refuse()
        if FlaskForm(prefix="ap").validate_on_submit():
            run_domain(lambda: partners.approve_partner(partner_id, current_user.id),
                       "Application approved; the partner has been told.")
        return redirect(url_for(".profile", partner_id=partner_id))

    @expose("/profile/<int:partner_id>/reject", methods=["POST"])
    def reject(self, partner_id: int):
        """Reject this application with a reason the applicant receives (admin; rules:
        "Partners", rejection). A missing reason is refused and changes nothing."""
        if not staff_with("admin"):
            return refuse()
        form = RejectForm(prefix="rj")
        if not form.validate_on_submit():
            flash("Give the applicant a reason: they receive it.", "error")
            return redirect(url_for(".profile", partner_id=partner_id))
        run_domain(lambda: partners.reject_partner(partner_id, current_user.id,
                                                   form.reason.data),
                   "Application rejected; the applicant has been sent the reason.")
        return redirect(url_for(".profile", partner_id=partner_id))

    @expose("/profile/<int:partner_id>/reset-password", methods=["POST"])
    def reset_password(self, partner_id: int):
        """Send the partner the password-reset e-mail (admin and support)."""
        from core.accounts.email_links import staff_send_password_reset

        if not staff_with("support"):
            return refuse()
        if FlaskForm(prefix="pw").validate_on_submit():
            run_domain(lambda: staff_send_password_reset(current_user, partner_id),
                       "A password reset link is on its way to the partner's e-mail "
                       "address (it works once, for one hour).")
        return redirect(url_for(".profile", partner_id=partner_id))

    @expose("/profile/<int:partner_id>/team", methods=["POST"])
    def team(self, partner_id: int):
        if not staff_with("admin"):
            return refuse()
        form = TeamForm(prefix="tm")
        if form.validate_on_submit():
            run_domain(lambda: commissions.set_team(
                partner_id, current_user.id,
                _opt_partner(form.team_leader_id.data, "Team leader"),
                _opt_partner(form.recruiter_id.data, "Recruiter")), "Team saved.")
        return redirect(url_for(".profile", partner_id=partner_id))


class TeamLeaderFilter(BaseSQLAFilter):
    """Partners whose team leader's name, e-mail or referral code contains the text."""

    def apply(self, query, value, alias=None):
        leader, person = aliased(Partner), aliased(User)
        term = tools.parse_like_term(value)
        leaders = (select(leader.id).join(person, person.id == leader.user_id)
                   .where(or_(person.name.ilike(term), person.email.ilike(term),
                              leader.referral_code.ilike(term))))
        return query.filter(Partner.team_leader_id.in_(leaders))

    def operation(self):
        return "name, e-mail or code contains"


class RemovedLeadFilter(BaseSQLAFilter):
    """Leads their partner removed from the pipeline (yes), or those still in it (no)."""

    def apply(self, query, value, alias=None):
        removed = Lead.archived_at.is_not(None)
        return query.filter(removed if value == "1" else ~removed)

    def operation(self):
        return "is"


class TeamLeaderIdFilter(IntEqualFilter):
    """Partners led by the team leader with this partner id (links from a profile)."""

    def operation(self):
        return "id"


class PartnerView(PartnerProfileMixin, StaffModelView):
    """Partners: search, filter (tier, status, industry, team leader), approve, suspend,
    reactivate. Support sees the lists and profiles read-only; the actions are admin's."""

    roles = ("support",)
    #: Actions that change a partner's access: admin only (support reads).
    ADMIN_ACTIONS = ("approve", "suspend", "reactivate")
    column_list = ("id", "user.name", "user.email", "company_name", "status", "tier",
                   "won_deals_count", "team_leader", "referral_code", "created_at")
    column_labels = {"user.name": "Name", "user.email": "E-mail", "won_deals_count": "Deals"}
    column_formatters = {"user.name": lambda v, c, m, n: Markup('<a href="{}">{}</a>').format(
        url_for("partners.profile", partner_id=m.id), m.user.name)}
    column_searchable_list = ("user.name", "user.email", "company_name", "referral_code")
    column_filters = ("status", "tier.name", "industry", "won_deals_count",
                      TeamLeaderFilter(Partner.team_leader_id, "Team leader"),
                      TeamLeaderIdFilter(Partner.team_leader_id, "Team leader"))
    column_sortable_list = ("id", "status", "won_deals_count", "created_at")
    column_default_sort = ("id", True)
    column_details_list = ("id", "user.name", "user.email", "company_name", "industry", "phone",
                           "status", "tier", "won_deals_count", "team_leader", "recruiter",
                           "referral_code", "agreement_version", "stripe_account_id",
                           "created_at", "approved_at")

    list_options = (contains_eager(Partner.user), joinedload(Partner.tier),
                    joinedload(Partner.team_leader).joinedload(Partner.user))

    def get_query(self):
        return super().get_query().join(User, User.id == Partner.user_id)

    def _apply_search(self, query, count_query, joins, count_joins, search):
        """Every word of ``search`` must appear (ILIKE) in the partner's name, e-mail,
        company or referral code, as Flask-Admin's own search does; but each word is
        matched as ``partners.id IN (partners matching by company or code UNION partners
        matching by name or e-mail)``, so PostgreSQL answers each arm from a trigram index
        (migration e5f6a7b8c9d0) instead of scanning both tables joined. Returns the
        queries and joins unchanged otherwise (Flask-Admin's ``_apply_search`` contract)."""
        for word in search.split():
            like = tools.parse_like_term(word)
            by_partner = select(Partner.id).where(or_(Partner.company_name.ilike(like),
                                                      Partner.referral_code.ilike(like)))
            by_user = (select(Partner.id).join(User, User.id == Partner.user_id)
                       .where(or_(User.name.ilike(like), User.email.ilike(like))))
            matching = Partner.id.in_(by_partner.union(by_user))
            query = query.filter(matching)
            if count_query is not None:
                count_query = count_query.filter(matching)
        return query, count_query, joins, count_joins

    def get_count_query(self):
        return super().get_count_query().join(User, User.id == Partner.user_id)

    def is_action_allowed(self, name: str) -> bool:
        """Hide (and refuse) the access-changing actions for anyone but admin."""
        if name in self.ADMIN_ACTIONS and not staff_with("admin"):
            return False
        return super().is_action_allowed(name)

    def handle_action(self, return_view=None):
        """A role that may not run an action gets 403 (not a silent redirect)."""
        if request.form.get("action") in self.ADMIN_ACTIONS and not staff_with("admin"):
            return refuse()
        return super().handle_action(return_view)

    def _each(self, ids, fn, verb):
        if not staff_with("admin"):
            return refuse()
        done = 0
        for pid in ids:
            if run_domain(lambda pid=pid: fn(int(pid), current_user.id)) is not None:
                done += 1
        if done:
            flash(f"{verb} {done} partner(s).", "success")

    @action("approve", "Approve application", "Approve the selected applications?")
    def action_approve(self, ids):
        return self._each(ids, partners.approve_partner, "Approved")

    @action("suspend", "Suspend", "Suspend the selected partners? They are logged out at once.")
    def action_suspend(self, ids):
        return self._each(ids, partners.suspend_partner, "Suspended")

    @action("reactivate", "Reactivate", "Reactivate the selected partners?")
    def action_reactivate(self, ids):
        return self._each(ids, partners.reactivate_partner, "Reactivated")


class ConfirmForm(FlaskForm):
    """Deal value in dollars, prefilled with the partner's value."""

    deal_value = StringField("Deal value ($)", validators=[DataRequired(), Length(max=20)])
    billing = SelectField("Billed", choices=[
        SelectChoice("one_time", "Once: commission now"),
        SelectChoice("monthly", "Monthly: commission on each paid invoice (value = one month)")],
        validate_choice=False)


class ReasonForm(FlaskForm):
    """A reason (cancellations, holds)."""

    reason = StringField("Reason", validators=[DataRequired(), Length(max=500)])


class LeadView(StaffModelView):
    """Leads by stage; won leads get a "Confirm deal" link. Leads their partner removed
    stay listed with the time (rules: "Removing a lead")."""

    roles = ("finance", "support")
    list_options = (joinedload(Lead.partner).joinedload(Partner.user), joinedload(Lead.deal))
    column_list = ("id", "partner", "company_name", "contact_name", "status",
                   "estimated_value_cents", "won_value_cents", "source", "updated_at",
                   "archived_at", "confirm")
    column_labels = {"estimated_value_cents": "Estimated", "won_value_cents": "Won value",
                     "archived_at": "Removed by partner", "confirm": ""}
    column_filters = ("status", "source", "partner.referral_code",
                      RemovedLeadFilter(Lead.archived_at, "Removed by partner",
                                        options=(("1", "yes"), ("0", "no"))))
    column_searchable_list = ("company_name", "contact_name", "contact_email")
    column_sortable_list = ("id", "status", "updated_at", "won_value_cents")
    column_default_sort = ("id", True)

    def _confirm_link(view, context, model, name):
        if model.status == "won" and model.deal is None:
            return Markup('<a class="btn btn-sm btn-success" href="{}">Confirm deal</a>').format(
                url_for("leads.confirm", lead_id=model.id))
        if model.deal is not None:
            return Markup('<span class="badge badge-secondary">Deal #{}</span>').format(
                model.deal.id)
        return ""

    column_formatters = {"estimated_value_cents": _money, "won_value_cents": _money,
                         "confirm": _confirm_link}

    @action("confirm", "Confirm deals",
            "Confirm the selected won leads at the values their partners reported? "
            "Their commissions are created now.")
    def action_confirm(self, ids):
        """Confirm several won leads at their reported values in one transaction, all or
        nothing (``core.money.commissions.confirm_deals``): the refusal names the lead."""
        if not staff_with("finance"):
            return refuse()
        done = run_domain(lambda: commissions.confirm_deals(
            [(int(i), None) for i in sorted(ids, key=int)], current_user.id))
        if done:
            made = [c for _, rows in done for c in rows]
            flash(f"Confirmed {len(done)} deal(s): {len(made)} commission(s), "
                  f"{format_cents(sum(c.amount_cents for c in made))} in total.", "success")

    @expose("/confirm/<int:lead_id>", methods=["GET", "POST"])
    def confirm(self, lead_id: int):
        """Confirm a won lead: creates the deal and its commissions (rules: "Commissions")."""
        if not staff_with("finance"):
            return refuse()
        lead = get_row(Lead, lead_id)
        if lead is None:
            raise NotFound("No such lead.")
        form = ConfirmForm(deal_value=f"{(lead.won_value_cents or 0) / 100:.2f}"
                           if lead.won_value_cents else "", billing=lead.billing)
        if form.validate_on_submit():
            try:
                value = parse_dollars(form.deal_value.data)
            except ValueError as exc:
                form.deal_value.errors = [str(exc)]
            else:
                billing = form.billing.data or lead.billing

                def confirm():
                    from core.money.recurring import set_lead_billing

                    set_lead_billing(lead.id, billing)
                    return commissions.confirm_deal(lead.id, current_user.id, value)

                result = run_domain(confirm)
                if result is not None:
                    deal, made = result
                    flash(f"Deal #{deal.id} confirmed: " + ("monthly: commissions come with "
                                                             "each paid invoice" if not made
                                                             else "")
                          + ", ".join(f"{c.type.replace('_', ' ')} {format_cents(c.amount_cents)}"
                                      f" to {c.partner.name}" for c in made), "success")
                    return redirect(url_for("leads.index_view"))
        return self.render("admin/confirm_deal.html", lead=lead, form=form), \
            (422 if request.method == "POST" else 200)


class DealView(StaffModelView):
    """Deals; cancel or refund one with a reason (reversals by the money rules)."""

    roles = ("finance", "support")
    list_options = (joinedload(Deal.partner).joinedload(Partner.user), joinedload(Deal.lead))
    column_list = ("id", "partner", "lead", "value_cents", "status", "confirmed_at",
                   "cancel_reason", "cancel")
    column_labels = {"value_cents": "Value", "cancel": ""}
    column_filters = ("status",)
    column_default_sort = ("id", True)

    def _cancel_link(view, context, model, name):
        if model.status != "won" or not staff_with("finance"):
            return ""
        return Markup('<a class="btn btn-sm btn-outline-danger" href="{}">Cancel / refund</a>'
                      ).format(url_for("deals.cancel", deal_id=model.id))

    column_formatters = {"value_cents": _money, "cancel": _cancel_link}

    @expose("/cancel/<int:deal_id>", methods=["GET", "POST"])
    def cancel(self, deal_id: int):
        if not staff_with("finance"):
            return refuse()
        deal = get_row(Deal, deal_id)
        if deal is None:
            raise NotFound("No such deal.")
        form = ReasonForm()
        if form.validate_on_submit():
            refunded = request.form.get("refunded") == "1"
            if run_domain(lambda: commissions.cancel_deal(deal.id, current_user.id,
                                                         form.reason.data, refunded),
                          f"Deal #{deal.id} {'refunded' if refunded else 'cancelled'}; "
                          "commissions reversed or clawed back.") is not None:
                return redirect(url_for("deals.index_view"))
        return self.render("admin/cancel_deal.html", deal=deal, form=form,
                           lead_name=escape(deal.lead.company_name))



class ToConfirmView(StaffView):
    """The "To confirm" queue: won leads waiting for staff to confirm the deal, oldest
    first, each with its "Confirm deal" button (finance; rules: "Commissions")."""

    roles = ("finance",)

    @expose("/")
    def index(self):
        from core.base.timeutil import now_utc
        from core.program.backoffice import TO_CONFIRM_PAGE, deals_to_confirm

        page = request.args.get("page", "0")
        page = min(int(page), 100_000) if page.isdigit() else 0
        leads, total = deals_to_confirm(page)
        return self.render("admin/to_confirm.html", leads=leads, total=total, page=page,
                           pages=max(1, -(-total // TO_CONFIRM_PAGE)), now=now_utc())


class PartnerLookupView(StaffView):
    """Suggestions for the partner pickers (admin, finance, support): JSON
    ``[{"id", "label", "email", "company", "status"}]``, at most 10."""

    roles = ("finance", "support")

    def is_visible(self) -> bool:
        return False

    @expose("/")
    def index(self):
        from flask import jsonify

        found = partners.find_partners(request.args.get("q", ""))
        return jsonify([{"id": p.id, "label": partners.partner_label(p), "email": p.user.email,
                         "company": p.company_name, "status": p.status} for p in found])
