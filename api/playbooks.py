"""The playbook library over the API: search, read, submit, upvote."""

from flask import g, jsonify, request

from api import api
from api.common import _int_arg, bearer, json_body
from core.base.extensions import db
from core.community import playbooks


@api.get("/partner/playbooks")
@bearer(active=False)
def api_playbooks():
    """``?q=&industry=&kind=&sort=top|new&cursor=<offset>&limit=1..100``: published
    playbooks; ``next_cursor`` is the offset of the next page."""
    q = request.args
    result = playbooks.list_published(q.get("q") or None, q.get("industry") or None,
                                      q.get("kind") or None, q.get("sort") or "top",
                                      _int_arg("cursor", 0, 0, 10**6),
                                      _int_arg("limit", playbooks.PAGE_SIZE, 1,
                                               playbooks.MAX_LIMIT))
    items = result["items"]
    mine = playbooks.upvoted_ids(g.user.id, [pb.id for pb in items])
    return jsonify(items=[playbooks.playbook_json(pb, g.user.id, pb.id in mine)
                          for pb in items],
                   total=result["total"], next_cursor=result["next_offset"])


@api.get("/partner/playbooks/submissions")
@bearer(active=False)
def api_playbook_submissions():
    """The partner's own submissions, newest first, with status and reviewer's note."""
    rows = playbooks.submissions_of(g.user)
    mine = playbooks.upvoted_ids(g.user.id, [pb.id for pb in rows])
    return jsonify(items=[playbooks.playbook_json(pb, g.user.id, pb.id in mine)
                          for pb in rows], next_cursor=None)


@api.get("/partner/playbooks/<int:playbook_id>")
@bearer(active=False)
def api_playbook(playbook_id: int):
    """One playbook with its Markdown and safe HTML body; 404 when unpublished and not
    the caller's."""
    pb = playbooks.get_for_viewer(g.user, playbook_id)
    return jsonify(playbooks.playbook_json(
        pb, g.user.id, bool(playbooks.upvoted_ids(g.user.id, [pb.id])), full=True))


@api.post("/partner/playbooks")
@bearer()
def api_playbook_submit():
    """``{"title", "industry", "kind", "body"}``: a submission waiting for review (201)."""
    data = json_body()
    pb = playbooks.submit_playbook(g.user, data.get("title"), data.get("industry"),
                                   data.get("kind"), data.get("body"))
    db.session.commit()
    return jsonify(playbooks.playbook_json(pb, g.user.id, False, full=True)), 201


@api.post("/partner/playbooks/<int:playbook_id>/upvote")
@bearer()
def api_playbook_upvote(playbook_id: int):
    """``{"upvoted": true|false}`` sets the upvote; an empty body toggles it."""
    data = json_body() if request.get_data() else {}
    result = playbooks.set_upvote(g.user, playbook_id, data.get("upvoted"))
    db.session.commit()
    return jsonify(result)
