"""The playbook library over the API: search, read, submit, upvote."""

from flask import g

from api import api
from api.common import bearer
from api.spec import operation
from core.base.extensions import db
from core.community import playbooks
from core.community.schemas import (
    NewPlaybook,
    Playbook,
    PlaybookPage,
    PlaybookQuery,
    SubmissionPage,
    Upvote,
    UpvoteChange,
)


@api.get("/partner/playbooks")
@bearer(active=False)
@operation(200, PlaybookPage)
def api_playbooks(query: PlaybookQuery):
    """Published playbooks

    Searched (every word in the title or body, case-insensitive), filtered and sorted;
    next_cursor is the offset of the next page."""
    result = playbooks.list_published(query.q or None, query.industry, query.kind, query.sort,
                                      query.cursor, query.limit)
    items = result["items"]
    mine = playbooks.upvoted_ids(g.user.id, [pb.id for pb in items])
    return PlaybookPage(items=[Playbook.of(pb, g.user.id, pb.id in mine) for pb in items],
                        total=result["total"], next_cursor=result["next_offset"])


@api.get("/partner/playbooks/submissions")
@bearer(active=False)
@operation(200, SubmissionPage)
def api_playbook_submissions():
    """Your own playbooks, newest first, with status and the reviewer's note"""
    rows = playbooks.submissions_of(g.user)
    mine = playbooks.upvoted_ids(g.user.id, [pb.id for pb in rows])
    return SubmissionPage(items=[Playbook.of(pb, g.user.id, pb.id in mine) for pb in rows])


@api.get("/partner/playbooks/<int:playbook_id>")
@bearer(active=False)
@operation(200, Playbook)
def api_playbook(playbook_id: int):
    """One playbook with its body

    Markdown and safe HTML; 404 when unpublished and not yours."""
    pb = playbooks.get_for_viewer(g.user, playbook_id)
    return Playbook.of(pb, g.user.id, bool(playbooks.upvoted_ids(g.user.id, [pb.id])),
                       full=True)


@api.post("/partner/playbooks")
@bearer()
@operation(201, Playbook, errors=(409,))
def api_playbook_submit(json: NewPlaybook):
    """Share a playbook

    It waits for staff review (409 too_many_pending while 5 of yours wait)."""
    pb = playbooks.submit_playbook(g.user, json.title, json.industry, json.kind, json.body)
    db.session.commit()
    return Playbook.of(pb, g.user.id, False, full=True), 201


@api.post("/partner/playbooks/<int:playbook_id>/upvote")
@bearer()
@operation(200, Upvote)
def api_playbook_upvote(playbook_id: int, json: UpvoteChange):
    """Upvote a published playbook

    {"upvoted": true} upvotes, false takes it back, an empty body (or null) toggles;
    once per partner, never your own (403 own_playbook)."""
    result = playbooks.set_upvote(g.user, playbook_id, json.upvoted)
    db.session.commit()
    return Upvote.model_validate(result)
