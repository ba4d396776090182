"""The playbook library in the portal (rules: "Playbooks"):
search and read published sales scripts and playbooks, upvote them, share your own for
review, and follow your submissions; and the same over the JSON API. Thin: the rules
are in ``core.community.playbooks``."""

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from core.base.errors import DomainError
from core.base.extensions import db
from core.community import playbooks
from core.program.profile import FieldError
from portal import bp
from portal.forms import EmptyForm, PlaybookForm
from portal.views import partner_page


def _library_args() -> dict:
    """The library's filters from the query string; unknown values fall back to "all"
    (links and bookmarks never break), the search box is cut to its limit."""
    args = request.args
    industry = args.get("industry") or None
    kind = args.get("kind") or None
    sort = args.get("sort", "top")
    page = args.get("page", "1")
    return {"query": " ".join(args.get("q", "").split())[:playbooks.QUERY_MAX],
            "industry": industry if industry in playbooks.INDUSTRIES else None,
            "kind": kind if kind in playbooks.KINDS else None,
            "sort": sort if sort in playbooks.SORTS else "top",
            "page": int(page) if page.isascii() and page.isdigit() and 0 < int(page) <= 10_000
            else 1}


@bp.get("/partner/playbooks")
@partner_page(active=False)
def playbooks_page():
    """Published playbooks with a search box, industry chips, sort and pages; the
    partner's own submissions with their status and the reviewer's note."""
    f = _library_args()
    size = playbooks.PAGE_SIZE
    try:
        result = playbooks.list_published(f["query"], f["industry"], f["kind"], f["sort"],
                                          (f["page"] - 1) * size, size)
    except DomainError as exc:  # e.g. control characters in the search box
        flash(exc.message, "error")
        result = {"items": [], "total": 0, "offset": 0, "limit": size, "next_offset": None}
    items = result["items"]
    return render_template(
        "portal/playbooks.html", result=result, f=f, items=items,
        upvoted=playbooks.upvoted_ids(current_user.id, [pb.id for pb in items]),
        excerpts={pb.id: playbooks.excerpt(pb.body) for pb in items},
        authors={pb.id: playbooks.author_label(pb) for pb in items},
        mine=playbooks.submissions_of(current_user), industries=playbooks.INDUSTRIES,
        kinds=playbooks.KINDS, sorts=playbooks.SORTS, labels=playbooks.STATUS_LABELS,
        can_share=g.partner.status == "active")


@bp.get("/partner/playbooks/<int:playbook_id>")
@partner_page(active=False)
def playbook_page(playbook_id: int):
    """One playbook: its rendered body and the upvote button (a plain POST form). Its
    author also sees it before it is published, with the status and the reviewer's note;
    anyone else gets 404 for an unpublished one."""
    pb = playbooks.get_for_viewer(current_user, playbook_id)
    return render_template(
        "portal/playbook.html", pb=pb, body_html=playbooks.body_html(pb),
        author=playbooks.author_label(pb), own=pb.author_id == current_user.id,
        upvoted=bool(playbooks.upvoted_ids(current_user.id, [pb.id])), form=EmptyForm(),
        kinds=playbooks.KINDS, labels=playbooks.STATUS_LABELS,
        can_vote=g.partner.status == "active")


@bp.post("/partner/playbooks/<int:playbook_id>/upvote")
@partner_page()
def playbook_upvote(playbook_id: int):
    """Upvote (``vote=up``), take it back (``vote=down``) or toggle (no ``vote``), then
    back to the playbook. Refusals (own playbook, unknown id) are the error page with
    their status."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    vote = request.form.get("vote")
    playbooks.set_upvote(current_user, playbook_id,
                         {"up": True, "down": False}.get(vote) if vote else None)
    db.session.commit()
    return redirect(url_for("portal.playbook_page", playbook_id=playbook_id) + "#upvote", 303)


@bp.route("/partner/playbooks/new", methods=["GET", "POST"])
@partner_page()
def playbook_new():
    """Share what works: the submission form. A refusal shows the form again (422) with
    the message on its field; a submission goes to staff review."""
    form = PlaybookForm()
    if form.validate_on_submit():
        try:
            pb = playbooks.submit_playbook(current_user, form.title.data, form.industry.data,
                                           form.kind.data, form.body.data)
            db.session.commit()
        except FieldError as exc:
            db.session.rollback()
            getattr(form, exc.field).errors = [exc.message]
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            flash("Thank you! Staff review your playbook; you will get a notification when "
                  "it is published.", "success")
            return redirect(url_for("portal.playbook_page", playbook_id=pb.id), 303)
    return render_template("portal/playbook_new.html", form=form,
                           max_pending=playbooks.MAX_PENDING), \
        (422 if request.method == "POST" else 200)


# --- API -----------------------------------------------------------------------------------









