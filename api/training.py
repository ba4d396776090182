"""Training and the leaderboard over the API: modules, progress, quizzes, challenges and
the leaderboard."""

from flask import g, jsonify, request

from api import api
from api.common import bearer, json_body
from core.base.errors import DomainError
from core.base.extensions import db
from core.community.challenges import active_challenges, progress_for
from core.content import training


def _module_json(r) -> dict:
    m = r["module"]
    return {"id": m.id, "slug": m.slug, "title": m.title, "channel": m.channel,
            "required": m.required, "min_tier": m.min_tier_key or None,
            "unlocked": r["unlocked"], "completed": r["completed"],
            "score_percent": r["score_percent"], "questions": r["questions"],
            "pass_mark_percent": m.pass_mark_percent}


@api.get("/partner/training/modules")
@bearer(active=False)
def api_training_modules():
    return jsonify(items=[_module_json(r) for r in training.modules_for(g.partner)],
                   next_cursor=None)


@api.get("/partner/training/progress")
@bearer(active=False)
def api_training_progress():
    rows = training.modules_for(g.partner)
    required = [r for r in rows if r["module"].required]
    return jsonify(completed=sum(r["completed"] for r in rows), total=len(rows),
                   required_completed=sum(r["completed"] for r in required),
                   required_total=len(required),
                   percent=round(100 * sum(r["completed"] for r in rows) / len(rows)) if rows else 100)


@api.post("/partner/training/complete")
@bearer(active=False)
def api_training_complete():
    """``{"module_id": int}`` for a module without a quiz."""
    data = json_body()
    module = training.get_module_for(g.partner, data.get("module_id"))
    if training.questions(module):
        raise DomainError("This module has a quiz: submit it to /training/quiz/submit.",
                          code="quiz_required", status=409)
    result = training.submit(g.partner, module, {})
    db.session.commit()
    return jsonify(result)


@api.post("/partner/training/quiz/submit")
@bearer(active=False)
def api_quiz_submit():
    """``{"module_id": int, "answers": {"<question id>": <choice index>}}``."""
    data = json_body()
    module = training.get_module_for(g.partner, data.get("module_id"))
    result = training.submit(g.partner, module, data.get("answers"))
    db.session.commit()
    return jsonify(result)


@api.get("/leaderboard/challenges")
@bearer()
def api_challenges():
    return jsonify(items=[{"id": c.id, "name": c.name, "description": c.description,
                           "metric": c.metric, "target": c.target, "prize_cents": c.prize_cents,
                           "starts_at": c.starts_at.isoformat(), "ends_at": c.ends_at.isoformat(),
                           "progress": progress_for(c, g.partner.id)}
                          for c in active_challenges()], next_cursor=None)


@api.get("/leaderboard")
@bearer()
def api_leaderboard():
    """``?period=month|all&metric=deals|revenue&tier=<key>``."""
    from core.community.leaderboard import leaderboard

    q = request.args
    board = leaderboard(q.get("period", "month"), q.get("metric", "deals"), q.get("tier") or None,
                        me=g.partner.id)
    return jsonify(items=board["rows"], me=board["me"], period=board["period"],
                   metric=board["metric"], next_cursor=None)
