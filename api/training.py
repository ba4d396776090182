"""Training and the leaderboard over the API: modules, progress, quizzes, challenges and
the leaderboard."""

from flask import g

from api import api
from api.common import bearer
from api.spec import operation
from core.base.errors import DomainError
from core.base.extensions import db
from core.community.challenges import active_challenges, progress_for
from core.community.schemas import Challenge, ChallengePage, Leaderboard, LeaderboardQuery
from core.content import training
from core.content.schemas import (
    CompleteModule,
    ModulePage,
    QuizAnswers,
    QuizResult,
    TrainingModule,
    TrainingProgress,
)


@api.get("/partner/training/modules")
@bearer(active=False)
@operation(200, ModulePage)
def api_training_modules():
    """Training modules with their lock, completion and score"""
    return ModulePage(items=[TrainingModule.of(r) for r in training.modules_for(g.partner)])


@api.get("/partner/training/progress")
@bearer(active=False)
@operation(200, TrainingProgress)
def api_training_progress():
    """Your training progress"""
    rows = training.modules_for(g.partner)
    required = [r for r in rows if r["module"].required]
    done = sum(r["completed"] for r in rows)
    return TrainingProgress(completed=done, total=len(rows),
                            required_completed=sum(r["completed"] for r in required),
                            required_total=len(required),
                            percent=round(100 * done / len(rows)) if rows else 100)


@api.post("/partner/training/complete")
@bearer(active=False)
@operation(200, QuizResult, errors=(404, 409))
def api_training_complete(json: CompleteModule):
    """Complete a module without a quiz

    409 quiz_required for a module with a quiz; 403 while it is locked."""
    module = training.get_module_for(g.partner, json.module_id)
    if training.questions(module):
        raise DomainError("This module has a quiz: submit it to /training/quiz/submit.",
                          code="quiz_required", status=409)
    result = training.submit(g.partner, module, {})
    db.session.commit()
    return QuizResult.model_validate(result)


@api.post("/partner/training/quiz/submit")
@bearer(active=False)
@operation(200, QuizResult, errors=(404,))
def api_quiz_submit(json: QuizAnswers):
    """Submit a module's quiz

    answers maps each question id to the chosen choice's index; every question needs one
    (422). Passing records the completion; 403 while the module is locked."""
    module = training.get_module_for(g.partner, json.module_id)
    result = training.submit(g.partner, module, json.answers)
    db.session.commit()
    return QuizResult.model_validate(result)


@api.get("/leaderboard/challenges")
@bearer()
@operation(200, ChallengePage)
def api_challenges():
    """Active challenges with your progress"""
    return ChallengePage(items=[
        Challenge(id=c.id, name=c.name, description=c.description, metric=c.metric,
                  target=c.target, prize_cents=c.prize_cents, starts_at=c.starts_at,
                  ends_at=c.ends_at, progress=progress_for(c, g.partner.id))
        for c in active_challenges()])


@api.get("/leaderboard")
@bearer()
@operation(200, Leaderboard)
def api_leaderboard(query: LeaderboardQuery):
    """The top 10 and your rank

    This month or all time, by deals or revenue, optionally within one tier."""
    from core.community.leaderboard import leaderboard

    board = leaderboard(query.period, query.metric, query.tier or None, me=g.partner.id)
    return Leaderboard(items=board["rows"], me=board["me"], period=board["period"],
                       metric=board["metric"])
