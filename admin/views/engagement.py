"""Engagement in the back office (rules: "XP, levels and streaks", "Badges"): the XP each
action earns, the level names, and the badge catalogue staff extend without code.
Every save is checked by ``core.engagement`` and audited."""

from flask_login import current_user
from wtforms import SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional
from wtforms.validators import ValidationError as FormValidationError

from admin.views.base import StaffModelView
from core.base.audit import audit
from core.base.errors import DomainError
from core.base.extensions import db
from core.engagement.badges import METRICS, audit_badge, check_badge
from core.engagement.models import BADGE_CATEGORIES, Badge, Level, XpRule
from core.engagement.xp import XP_LABELS, check_level, check_xp_rule


def _refuse(check, *args):
    """Run a core check; its refusal becomes Flask-Admin's form error (a flash on the
    form, nothing saved)."""
    try:
        check(*args)
    except DomainError as exc:
        raise FormValidationError(exc.message) from None


class XpRuleView(StaffModelView):
    """The points each XP action earns (defaults: ``XP_ACTIONS``). Editing changes XP
    earned from now on; XP already earned stays."""

    roles = ("content",)
    can_edit = True
    column_list = ("action", "label", "points")
    column_default_sort = "action"
    form_columns = ("points",)

    def _label(view, context, model, name):
        return XP_LABELS.get(model.action, "")

    column_formatters = {"label": _label}

    def on_model_change(self, form, model, is_created):
        from sqlalchemy import inspect

        _refuse(check_xp_rule, model.action, model.points)
        old = inspect(model).attrs.points.history.deleted
        audit(current_user.id, "xp_rule.update", "xp_rule", model.id,
              {"points": old[0]} if old else None,
              {"action": model.action, "points": model.points})


class LevelView(StaffModelView):
    """Level names and the XP each starts at (the lowest should start at 0)."""

    roles = ("content",)
    can_create = True
    can_edit = True
    column_list = ("min_xp", "name")
    column_labels = {"min_xp": "From XP"}
    column_default_sort = "min_xp"
    form_columns = ("name", "min_xp")
    form_args = {"min_xp": {"label": "Starts at XP"}}

    def on_model_change(self, form, model, is_created):
        _refuse(check_level, model.name, model.min_xp)
        db.session.flush()
        audit(current_user.id, "level.create" if is_created else "level.update", "level",
              model.id, None, {"name": model.name, "min_xp": model.min_xp})


class BadgeView(StaffModelView):
    """The badge catalogue: add or change badges without code. A badge is switched off
    (``active``) rather than deleted: badges already earned are never taken back."""

    roles = ("content",)
    can_create = True
    can_edit = True
    column_list = ("category", "position", "icon", "name", "rule", "metric", "threshold",
                   "days", "active")
    column_filters = ("category", "rule", "active")
    column_searchable_list = ("name", "key")
    column_default_sort = [("category", False), ("position", False)]
    form_columns = ("key", "name", "description", "category", "icon", "rule", "metric",
                    "threshold", "days", "active", "position")
    form_overrides = {"category": SelectField, "rule": SelectField, "metric": SelectField,
                      "description": TextAreaField}
    form_args = {
        "key": {"description": "Stable id: lower-case letters, digits and underscores."},
        "category": {"choices": [SelectChoice(c, c.capitalize()) for c in BADGE_CATEGORIES]},
        "rule": {"choices": [
            SelectChoice("count", "Count of a metric at least N"),
            SelectChoice("within_days", "Count at least N within D days of approval"),
            SelectChoice("streak", "Weekly streak of N weeks"),
            SelectChoice("rank", "Top N by a metric in a calendar month")]},
        "metric": {"choices": [SelectChoice("", "(none: streak badges)")] +
                   [SelectChoice(k, v) for k, v in METRICS.items()]},
        "threshold": {"label": "N (count, weeks or best rank)"},
        "days": {"label": "D (days after approval; within-days only)",
                 "validators": [Optional()]},
    }

    def on_model_change(self, form, model, is_created):
        model.metric = model.metric or ""
        _refuse(check_badge, {k: getattr(model, k) for k in (
            "key", "name", "description", "category", "icon", "rule", "metric", "threshold",
            "days")})
        db.session.flush()
        audit_badge(current_user.id, model, is_created)


def register_engagement_views(admin) -> None:
    """Add the engagement screens to the back office (category "Engagement")."""
    admin.add_view(XpRuleView(XpRule, db, name="XP rules", endpoint="xp_rules",
                              url="xp-rules", category="Engagement"))
    admin.add_view(LevelView(Level, db, name="Levels", endpoint="levels", url="levels",
                             category="Engagement"))
    admin.add_view(BadgeView(Badge, db, name="Badges", endpoint="badges", url="badges",
                             category="Engagement"))
