"""Engagement in the portal: the badge page and the goal form on the profile (rules:
"Goals", "Badges"). Thin: the rules are in ``core.engagement``."""

from flask import flash, g, redirect, render_template, url_for
from flask_login import current_user

from core.base.extensions import db
from core.engagement.goals import GoalError, goals_from_form, set_goals
from portal import bp
from portal.forms import GoalsForm
from portal.views import partner_page


@bp.get("/partner/badges")
@partner_page(active=False)
def badges_page():
    """Every badge of the catalogue: the ones earned (when) and what is left to earn,
    with progress toward each."""
    from core.engagement.badges import badge_board

    return render_template("portal/badges.html", board=badge_board(g.partner))


@bp.post("/partner/profile/goals")
@partner_page(active=False)
def goals_save():
    """Save the experience level and monthly goal from the profile's goal form. A bad
    value (negative, absurd, unreadable) shows the profile again with the sentence at
    the field (422) and stores nothing."""
    form = GoalsForm()
    if form.validate_on_submit():
        try:
            set_goals(g.partner, goals_from_form(form.experience_level.data,
                                                 form.goal_deals.data, form.goal_revenue.data),
                      current_user.id)
            db.session.commit()
        except GoalError as exc:
            db.session.rollback()
            name = "goal_revenue" if exc.field == "goal_revenue_cents" else exc.field
            getattr(form, name).errors = [exc.message]
        else:
            flash("Goal saved.", "success")
            return redirect(url_for("portal.profile_page") + "#goals", 303)
    from portal.views import profile_page

    return profile_page(goals_form=form)


def goals_form_for(partner) -> GoalsForm:
    """The profile's goal form filled with the partner's level and goal (revenue shown in
    dollars)."""
    revenue = partner.goal_revenue_cents
    return GoalsForm(formdata=None, data={
        "experience_level": partner.experience_level or "",
        "goal_deals": "" if partner.goal_deals is None else str(partner.goal_deals),
        "goal_revenue": "" if revenue is None else
        (f"{revenue // 100}" if revenue % 100 == 0 else f"{revenue // 100}.{revenue % 100:02d}")})
