"""Program settings screens: tiers (editable rows) and the payout minimum."""

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from admin.views.base import StaffModelView, StaffView, percent, refuse, run_domain, staff_with
from admin.views.fields import PercentField
from core.base.errors import NotFound
from core.base.extensions import db
from core.money import payouts
from core.money.cents import format_cents
from core.program import tiers
from core.program.models import Tier


class TierForm(FlaskForm):
    """Tier numbers: thresholds in deals, rates typed as percentages (kept in basis
    points: 20 % is 2000)."""

    name = StringField("Name", validators=[DataRequired(), Length(max=60)])
    min_deals = IntegerField("Confirmed won deals to reach it",
                             validators=[InputRequired(), NumberRange(0, 10_000)])
    base_rate_bps = PercentField("Base rate (%)", validators=[InputRequired()])
    referral_rate_bps = PercentField("Referral bonus (%)", validators=[InputRequired()])
    team_override_bps = PercentField("Team override (%)", validators=[InputRequired()])
    holding_days = IntegerField("Holding period (days)",
                                validators=[InputRequired(), NumberRange(0, 365)])
    recurring_months = IntegerField("Monthly deals: invoices that pay commission (0 = for life)",
                                    validators=[InputRequired(), NumberRange(0, 600)])
    features = TextAreaField("Features unlocked (one per line)", validators=[Length(max=2000)])


class TierView(StaffModelView):
    """Tiers as rows; edits go through ``core.program.tiers.update_tier`` (validated, audited)."""

    roles = ("admin",)
    column_list = ("key", "name", "min_deals", "base_rate_bps", "referral_rate_bps",
                   "team_override_bps", "holding_days", "recurring_months", "edit")
    column_labels = {"min_deals": "From deals", "base_rate_bps": "Base rate",
                     "referral_rate_bps": "Referral bonus", "team_override_bps": "Team override",
                     "recurring_months": "Recurring months", "edit": ""}
    column_default_sort = "min_deals"

    def _edit_link(view, context, model, name):
        from markupsafe import Markup

        return Markup('<a class="btn btn-sm btn-primary" href="{}">Edit</a>').format(
            url_for("tiers.edit_tier", tier_id=model.id))

    column_formatters = {"edit": _edit_link, "base_rate_bps": percent,
                         "referral_rate_bps": percent, "team_override_bps": percent}

    def is_accessible(self):
        return staff_with("admin")

    @expose("/edit/<int:tier_id>", methods=["GET", "POST"])
    def edit_tier(self, tier_id: int):
        if not staff_with("admin"):
            return refuse()
        tier = db.session.get(Tier, tier_id)
        if tier is None:
            raise NotFound("No such tier.")
        form = TierForm(obj=tier)
        if form.validate_on_submit():
            changes = {k: getattr(form, k).data for k in tiers.TIER_FIELDS}
            changes["features"] = changes["features"] or ""
            if run_domain(lambda: tiers.update_tier(tier.id, current_user.id, changes),
                          f"Tier {tier.key} saved. New rates apply to deals confirmed from now on."
                          ) is not None:
                return redirect(url_for("tiers.index_view"))
        return self.render("admin/simple_form.html", form=form, title=f"Edit tier {tier.key}",
                           submit="Save tier"), (422 if request.method == "POST" else 200)


class MinimumForm(FlaskForm):
    """The payout minimum in cents and the four-eyes setting (rules: "Payouts")."""

    minimum = IntegerField("Minimum payout (cents)", validators=[InputRequired(),
                                                                 NumberRange(0, 100_000)])
    four_eyes = BooleanField("Four eyes: whoever creates a payout may not approve it")


class SettingsView(StaffView):
    """Payout minimum and the four-eyes rule (finance; rules: "Payouts")."""

    roles = ("finance",)

    @expose("/", methods=["GET", "POST"])
    def index(self):
        form = MinimumForm(minimum=payouts.payout_minimum_cents(),
                           four_eyes=payouts.four_eyes_required())
        if form.validate_on_submit():
            def save():
                payouts.set_payout_minimum(form.minimum.data, current_user.id)
                return payouts.set_four_eyes(bool(form.four_eyes.data), current_user.id)

            if run_domain(save) is not None:
                flash(f"Minimum payout is now {format_cents(form.minimum.data)}; four eyes "
                      f"{'on' if form.four_eyes.data else 'off'}.", "success")
                return redirect(url_for("settings.index"))
        return self.render("admin/simple_form.html", form=form, title="Payout settings",
                           submit="Save")
