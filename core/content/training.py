"""Training: modules by channel, tier-locked ones, quizzes with a pass mark (rules:
"Training"; required modules gate leaving starter, rules: "Tiers")."""

import nh3
from markdown_it import MarkdownIt
from sqlalchemy import select

from core.base.errors import Forbidden, NotFound, ValidationError
from core.base.extensions import db, get_row
from core.content.models import QuizQuestion, TrainingCompletion, TrainingModule
from core.program.models import Partner
from core.program.tiers import refresh_tier, standing, tier_by_key

#: CommonMark with tables and strikethrough; raw HTML in the source is shown as text.
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(
    ["table", "strikethrough"])
#: What a module's body may contain once rendered: text structure, never scripts,
#: styles, images or forms (content staff write it; partners read it).
_MODULE_TAGS = {"h1", "h2", "h3", "h4", "p", "br", "hr", "ul", "ol", "li", "strong", "em",
                "s", "code", "pre", "blockquote", "a", "table", "thead", "tbody", "tr", "th",
                "td"}


def render_module_body(source: str) -> str:
    """A training module's Markdown body (back office "Training: markdown content") as
    safe HTML for the portal.

    ``source``: the module's ``body``, CommonMark plus tables. Raw HTML is not passed
    through (it appears as text); the result is cleaned by nh3 to :data:`_MODULE_TAGS`,
    links keep only ``http``/``https``/``mailto`` targets and get ``rel="noopener
    noreferrer nofollow"``. Returns a ``str`` of HTML; an empty body gives ``""``.
    """
    html = _MARKDOWN.render(source or "")
    return nh3.clean(html, tags=_MODULE_TAGS, attributes={"a": {"href"}},
                     url_schemes={"http", "https", "mailto"},
                     link_rel="noopener noreferrer nofollow")


def module_unlocked(partner: Partner, module: TrainingModule) -> bool:
    """True when the partner's effective tier reaches the module's ``min_tier_key``."""
    if not module.min_tier_key:
        return True
    need = tier_by_key(module.min_tier_key)
    return need is None or standing(partner).tier.min_deals >= need.min_deals


def modules_for(partner: Partner) -> list[dict]:
    """Every module with ``{"module", "unlocked", "completed", "score_percent",
    "questions"}``, in order; locked ones are listed so partners see what unlocks them."""
    done = {c.module_id: c for c in db.session.scalars(select(TrainingCompletion).where(
        TrainingCompletion.partner_id == partner.id))}
    counts = dict(db.session.execute(select(QuizQuestion.module_id, db.func.count())
                                     .group_by(QuizQuestion.module_id)).all())
    out = []
    for m in db.session.scalars(select(TrainingModule).order_by(TrainingModule.position,
                                                                TrainingModule.id)):
        c = done.get(m.id)
        out.append({"module": m, "unlocked": module_unlocked(partner, m), "completed": c is not None,
                    "score_percent": c.score_percent if c else None,
                    "questions": counts.get(m.id, 0)})
    return out


def get_module_for(partner: Partner, module_id) -> TrainingModule:
    """A module the partner may open; locked → ``Forbidden`` naming the tier."""
    module = get_row(TrainingModule, module_id)
    if module is None:
        raise NotFound("No such training module.")
    if not module_unlocked(partner, module):
        raise Forbidden(f"This module unlocks at {tier_by_key(module.min_tier_key).name} tier.")
    return module


def questions(module: TrainingModule) -> list[QuizQuestion]:
    """The module's quiz questions, in order."""
    return list(db.session.scalars(select(QuizQuestion).where(QuizQuestion.module_id == module.id)
                                   .order_by(QuizQuestion.position, QuizQuestion.id)))


def submit(partner: Partner, module: TrainingModule, answers) -> dict:
    """Complete a module: without a quiz it is done; with one, ``answers`` maps question
    id → chosen index for every question and the score must reach the pass mark.

    Returns ``{"passed": bool, "score_percent": int|None, "pass_mark_percent": int,
    "correct": int, "total": int, "wrong_question_ids": [ids answered wrongly, in order]}``. A pass records the completion (best score kept) and
    recomputes the tier (required modules gate leaving starter). Raises
    ``ValidationError`` for missing or malformed answers.
    """
    qs = questions(module)
    score = None
    correct = 0
    wrong: list[int] = []
    if qs:
        if not isinstance(answers, dict):
            raise ValidationError("Answer every question.")
        for q in qs:
            choice = answers.get(q.id, answers.get(str(q.id)))
            if isinstance(choice, str) and choice.isdigit():
                choice = int(choice)
            if isinstance(choice, bool) or not isinstance(choice, int) or \
                    not 0 <= choice < len(q.choice_list):
                raise ValidationError("Answer every question.")
            correct += choice == q.correct_index
            if choice != q.correct_index:
                wrong.append(q.id)
        score = round(100 * correct / len(qs))
    passed = score is None or score >= module.pass_mark_percent
    if passed:
        row = db.session.scalar(select(TrainingCompletion).where(
            TrainingCompletion.partner_id == partner.id, TrainingCompletion.module_id == module.id))
        if row is None:
            db.session.add(TrainingCompletion(partner_id=partner.id, module_id=module.id,
                                              score_percent=score))
            db.session.flush()
            from core.engagement.xp import record_action

            record_action(partner.id, "module_passed", f"module:{module.id}")
            refresh_tier(partner)
            from core.content.paths import issue_due  # a path completed: its certificate

            issue_due(partner)
        elif score is not None and (row.score_percent or 0) < score:
            row.score_percent = score
    return {"passed": passed, "score_percent": score, "pass_mark_percent": module.pass_mark_percent,
            "correct": correct, "total": len(qs), "wrong_question_ids": wrong}
