"""Training content for the content role: modules and their quiz questions."""

from wtforms import SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import URL, NumberRange, Optional

from admin.views.base import StaffModelView
from admin.views.fields import ChoiceQuerySelectField
from core.base.extensions import db
from core.content.models import TrainingModule


def _modules():
    return db.session.query(TrainingModule).order_by(TrainingModule.position, TrainingModule.id)


class ModuleField(ChoiceQuerySelectField):
    """The training module a quiz question belongs to, by position."""

    query_factory = staticmethod(_modules)
    label_attr = "title"


class TrainingView(StaffModelView):
    """Training modules: content (Markdown, shown formatted in the portal by
    ``core.content.training.render_module_body``), video link, tier requirement, order."""

    roles = ("content",)
    can_create = True
    can_edit = True
    column_list = ("position", "title", "channel", "required", "min_tier_key",
                   "pass_mark_percent")
    column_labels = {"min_tier_key": "Unlocks at", "pass_mark_percent": "Pass mark %"}
    column_default_sort = "position"
    form_columns = ("title", "slug", "channel", "body", "video_url", "min_tier_key", "required",
                    "position", "pass_mark_percent")
    form_overrides = {"body": TextAreaField, "min_tier_key": SelectField}
    form_args = {
        "min_tier_key": {"label": "Unlocks at tier", "choices": [
            SelectChoice("", "Everyone"), SelectChoice("active", "Active"),
            SelectChoice("performer", "Performer"), SelectChoice("elite", "Elite")]},
        "body": {"label": "Content (Markdown: ## headings, - lists, **bold**, [links](https://…), tables)"},
        "video_url": {"validators": [Optional(), URL(require_tld=False)]},
        "pass_mark_percent": {"validators": [NumberRange(0, 100)]},
    }


class QuizView(StaffModelView):
    """Quiz questions: one choice per line; the right answer's index counts from 0."""

    roles = ("content",)
    can_create = True
    can_edit = True
    can_delete = True
    column_list = ("module", "position", "prompt", "correct_index")
    form_columns = ("module", "prompt", "choices", "correct_index", "position")
    form_overrides = {"choices": TextAreaField, "module": ModuleField}
    form_args = {"correct_index": {"label": "Right choice (0 = first line)",
                                   "validators": [NumberRange(0, 20)]}}
