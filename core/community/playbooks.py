"""The playbook library: sales scripts and playbooks by industry, written by staff or
shared by partners, reviewed before partners see them, searchable, upvoted.

Rule sources: seed ``001_c73ae82cff6833f6.txt`` ("Playbook Library: proven strategies
and methods, industry-specific approaches"; "Partners share what works for them") and
seed ``003_c218b0c01eab8c79.txt`` ("Basic Playbook Library: 5-10 essential sales
scripts"); rules: "Playbooks", "Staff roles" (content staff run content in ``/admin``).

Rules
-----
- A playbook has a title (5–120 characters, one line), an industry from
  :data:`INDUSTRIES` (the profile's industry list, plus "Any industry"), a kind
  (``script`` or ``playbook``) and a Markdown body (50–20,000 characters), shown through
  the training modules' safe renderer (``core.content.training.render_module_body``).
- Partners read **published** playbooks only; an unpublished one is "not found" to every
  partner but its author, who sees it with its status and the reviewer's note.
- An approved partner may submit a playbook; it waits as ``submitted`` until content
  staff publish or reject it (rejecting needs a note, which the author reads). At most
  :data:`MAX_PENDING` of a partner's submissions wait at once. The author is notified of
  the decision; every decision is an audit row.
- Content staff write playbooks directly: saved as ``draft`` (hidden) or ``published``.
- An approved partner upvotes a published playbook at most once (the unique constraint
  on ``playbook_upvotes`` decides, also for two requests at once) and can take the
  upvote back; nobody upvotes their own. ``upvote_count`` changes only by an atomic
  ``+ 1`` / ``- 1`` after a row was really inserted or deleted, so it always equals the
  rows.
"""

import re

from markupsafe import Markup
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import joinedload

from core.accounts.models import User
from core.base.audit import audit
from core.base.errors import Conflict, Forbidden, NotFound, ValidationError
from core.base.extensions import db, get_row
from core.base.timeutil import now_utc
from core.community.models import PLAYBOOK_KINDS, PLAYBOOK_STATUSES, Playbook, PlaybookUpvote
from core.community.notifications import notify
from core.content.training import render_module_body
from core.program.models import Partner
from core.program.profile import INDUSTRIES as PROFILE_INDUSTRIES
from core.program.profile import FieldError

#: Industries a playbook is filed under: "Any industry" for what works everywhere, then
#: the profile's list (core/program/profile.py, the industry channels).
ANY_INDUSTRY = "Any industry"
INDUSTRIES = (ANY_INDUSTRY,) + tuple(PROFILE_INDUSTRIES)
#: Kind key (``PLAYBOOK_KINDS``) → label.
KINDS = dict(zip(PLAYBOOK_KINDS, ("Sales script", "Playbook"), strict=True))
#: Sort key → label: most upvoted first, or newest published first.
SORTS = {"top": "Top upvoted", "new": "Newest"}
#: Length limits, characters.
TITLE_MIN, TITLE_MAX = 5, 120
BODY_MIN, BODY_MAX = 50, 20_000
NOTE_MIN, NOTE_MAX = 5, 1000
QUERY_MAX = 100
#: Search words used at most (each must appear in the title or the body).
QUERY_WORDS = 8
#: A partner's submissions that may wait for review at once.
MAX_PENDING = 5
#: Playbooks per page of the library (portal) and the API's largest ``limit``.
PAGE_SIZE = 20
MAX_LIMIT = 100
#: Label of staff-written playbooks in place of an author's name.
STAFF_AUTHOR = "SISO team"

_LINE_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BODY_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# --- validation -----------------------------------------------------------------------

def _is_text(value) -> bool:
    """A ``str`` that can be stored: UTF-8 encodable (no lone surrogates from JSON)."""
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def clean_title(value) -> str:
    """A title as stored: one line, inner whitespace collapsed, 5–120 characters.
    Raises ``FieldError("title", ...)``."""
    if not _is_text(value) or _LINE_CONTROL.search(value.replace("\t", " ")):
        raise FieldError("title", f"Title must be text of {TITLE_MIN} to {TITLE_MAX} "
                                  "characters on one line.")
    value = " ".join(value.split())
    if not TITLE_MIN <= len(value) <= TITLE_MAX:
        raise FieldError("title", f"Title must be {TITLE_MIN} to {TITLE_MAX} characters "
                                  f"(it is {len(value)}).")
    return value


def clean_body(value) -> str:
    """A Markdown body as stored: line ends normalised to ``\\n``, no control characters
    but newline and tab, trimmed, 50–20,000 characters. Raises ``FieldError("body", ...)``."""
    if not _is_text(value):
        raise FieldError("body", f"The playbook must be text of {BODY_MIN:,} to "
                                 f"{BODY_MAX:,} characters.")
    value = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    if _BODY_CONTROL.search(value):
        raise FieldError("body", "The playbook contains control characters; paste it as "
                                 "plain text.")
    if len(value) < BODY_MIN:
        raise FieldError("body", f"Write at least {BODY_MIN} characters: what to say, and "
                                 f"when it works (it is {len(value)}).")
    if len(value) > BODY_MAX:
        raise FieldError("body", f"The playbook can be at most {BODY_MAX:,} characters "
                                 f"(it is {len(value):,}).")
    return value


def clean_industry(value) -> str:
    """One of :data:`INDUSTRIES`, exactly. Raises ``FieldError("industry", ...)``."""
    if value not in INDUSTRIES:
        raise FieldError("industry", "Choose an industry from the list.")
    return value


def clean_kind(value) -> str:
    """``script`` or ``playbook``. Raises ``FieldError("kind", ...)``."""
    if value not in KINDS:
        raise FieldError("kind", "Choose whether it is a sales script or a playbook.")
    return value


def _fields(title, industry, kind, body) -> dict:
    return {"title": clean_title(title), "industry": clean_industry(industry),
            "kind": clean_kind(kind), "body": clean_body(body)}


def _note(value, required: bool) -> str:
    if value is None:
        value = ""
    if not _is_text(value) or _BODY_CONTROL.search(value):
        raise ValidationError("The note must be plain text.")
    value = value.replace("\r\n", "\n").strip()
    if required and len(value) < NOTE_MIN:
        raise ValidationError(f"Say why in a note of at least {NOTE_MIN} characters: the "
                              "author reads it.")
    if len(value) > NOTE_MAX:
        raise ValidationError(f"The note can be at most {NOTE_MAX:,} characters.")
    return value


def _active_partner(user: User) -> Partner:
    partner = user.partner if user is not None else None
    if partner is None:
        raise Forbidden("Only partners can do this.")
    if partner.status != "active":
        raise Forbidden("Your application is under review; you can do this once staff "
                        "approve it.", code="not_approved")
    return partner


def _require_content(actor: User, what: str) -> None:
    if actor is None or not actor.is_staff or not actor.has_role("content"):
        raise Forbidden(f"Only content staff can {what}.")


# --- reading ----------------------------------------------------------------------------

def search_terms(query) -> list[str]:
    """The words of a search box, lower-cased, at most :data:`QUERY_WORDS`.

    Raises ``ValidationError`` for more than 100 characters or control characters."""
    if query is None:
        return []
    if not _is_text(query) or _LINE_CONTROL.search(query):
        raise ValidationError("Search for plain text.")
    if len(query) > QUERY_MAX:
        raise ValidationError(f"Search for at most {QUERY_MAX} characters.")
    return query.lower().split()[:QUERY_WORDS]


def _like(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def list_published(query: str | None = None, industry: str | None = None,
                   kind: str | None = None, sort: str = "top", offset: int = 0,
                   limit: int = PAGE_SIZE) -> dict:
    """Published playbooks, filtered, sorted and paged (the library page and the API).

    Args: ``query`` search words (each must appear in the title or the body,
    case-insensitive: ILIKE on PostgreSQL, ``lower() LIKE`` on SQLite, so SQLite folds
    ASCII letters only); ``industry`` one of :data:`INDUSTRIES` or ``None`` for all;
    ``kind`` ``script``/``playbook`` or ``None``; ``sort`` ``top`` (most upvotes, then
    newest) or ``new`` (newest published first); ``offset`` rows to skip (>= 0);
    ``limit`` 1–100.

    Returns ``{"items": [Playbook...], "total": int, "offset": int, "limit": int,
    "next_offset": int | None}``; authors load with the rows (two queries in all).
    Raises ``ValidationError`` for an unknown industry, kind or sort, a bad query or
    out-of-range paging.
    """
    words = search_terms(query)
    if industry is not None and industry not in INDUSTRIES:
        raise ValidationError("Unknown industry: choose one from the list.")
    if kind is not None and kind not in KINDS:
        raise ValidationError("kind is script or playbook.")
    if sort not in SORTS:
        raise ValidationError("sort is top or new.")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValidationError("The page starts at 0 or later.")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValidationError(f"limit must be between 1 and {MAX_LIMIT}.")
    where = [Playbook.status == "published"]
    if industry:
        where.append(Playbook.industry == industry)
    if kind:
        where.append(Playbook.kind == kind)
    for word in words:
        pattern = _like(word)
        where.append(or_(Playbook.title.ilike(pattern, escape="\\"),
                         Playbook.body.ilike(pattern, escape="\\")))
    total = db.session.scalar(select(func.count()).select_from(Playbook).where(*where)) or 0
    order = [Playbook.published_at.desc(), Playbook.id.desc()]
    if sort == "top":
        order.insert(0, Playbook.upvote_count.desc())
    rows = list(db.session.scalars(select(Playbook).where(*where)
                                   .options(joinedload(Playbook.author))
                                   .order_by(*order).offset(offset).limit(limit)))
    nxt = offset + limit if offset + limit < total else None
    return {"items": rows, "total": int(total), "offset": offset, "limit": limit,
            "next_offset": nxt}


def get_for_viewer(user: User, playbook_id) -> Playbook:
    """A playbook ``user`` may read: any published one, or one they wrote (any status).

    Raises ``NotFound`` for an id that is not an int, does not exist, or is someone
    else's unpublished playbook (the same answer, so ids reveal nothing)."""
    pb = get_row(Playbook, playbook_id)
    if pb is None or (pb.status != "published" and pb.author_id != user.id):
        raise NotFound("No such playbook.")
    return pb


def submissions_of(user: User, limit: int = 50) -> list[Playbook]:
    """The playbooks ``user`` submitted, newest first, whatever their status (the
    partner's "My submissions"), at most ``limit``."""
    return list(db.session.scalars(select(Playbook).where(Playbook.author_id == user.id)
                                   .order_by(Playbook.id.desc()).limit(limit)))


def upvoted_ids(user_id: int, playbook_ids) -> set[int]:
    """Which of ``playbook_ids`` ``user_id`` has upvoted (one query)."""
    ids = list(playbook_ids)
    if not ids:
        return set()
    return set(db.session.scalars(select(PlaybookUpvote.playbook_id).where(
        PlaybookUpvote.user_id == user_id, PlaybookUpvote.playbook_id.in_(ids))))


def author_label(pb: Playbook) -> str:
    """Who wrote it, as partners see it: :data:`STAFF_AUTHOR` for staff, else the
    partner's name."""
    author = pb.author
    if author is None or author.is_staff:
        return STAFF_AUTHOR
    return author.name


def excerpt(body: str, length: int = 160) -> str:
    """The first ``length`` characters of the body as plain text (Markdown rendered by
    the safe renderer, tags stripped), ending in "…" when cut. Plain text: templates
    escape it."""
    html = render_module_body((body or "")[:length * 4])
    text = Markup(html).striptags()  # noqa: S704  (nh3-cleaned; only its text is kept)
    return text if len(text) <= length else text[:length - 1].rstrip() + "…"


def body_html(pb: Playbook) -> str:
    """The body as safe HTML (``core.content.training.render_module_body``: no raw HTML, no
    scripts, links limited to http/https/mailto)."""
    return render_module_body(pb.body)


# --- partners: submit, upvote -------------------------------------------------------------

def submit_playbook(user: User, title, industry, kind, body) -> Playbook:
    """A partner shares what works: a new playbook waiting for review (``submitted``).

    Args: ``user`` the partner's user (approved); the four fields as typed (validated by
    :func:`clean_title`, :func:`clean_industry`, :func:`clean_kind`, :func:`clean_body`).
    Returns the new row (flushed, with its id); audited ``playbook.submit``.
    Raises ``Forbidden`` (not a partner, not approved), ``FieldError`` (a
    ``ValidationError`` naming the field), ``Conflict`` (code ``too_many_pending``:
    :data:`MAX_PENDING` submissions already wait for review).
    """
    _active_partner(user)
    fields = _fields(title, industry, kind, body)
    pending = db.session.scalar(select(func.count()).select_from(Playbook).where(
        Playbook.author_id == user.id, Playbook.status == "submitted")) or 0
    if pending >= MAX_PENDING:
        raise Conflict(f"You have {pending} playbooks waiting for review; you can share "
                       "another once staff have looked at them.", code="too_many_pending")
    now = now_utc()
    pb = Playbook(**fields, author_id=user.id, status="submitted", created_at=now,
                  updated_at=now)
    db.session.add(pb)
    db.session.flush()
    audit(user.id, "playbook.submit", "playbook", pb.id, None,
          {"title": pb.title, "industry": pb.industry, "kind": pb.kind, "status": pb.status})
    return pb


def _insert_upvote(playbook_id: int, user_id: int) -> bool:
    """Insert the upvote unless it exists (also one a concurrent transaction is
    writing: the unique constraint decides). True when this call inserted it."""
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = (insert(PlaybookUpvote)
            .values(playbook_id=playbook_id, user_id=user_id, created_at=now_utc())
            .on_conflict_do_nothing(index_elements=["playbook_id", "user_id"])
            .returning(PlaybookUpvote.id))
    return db.session.execute(stmt).first() is not None


def set_upvote(user: User, playbook_id, upvoted=None) -> dict:
    """Upvote a published playbook, or take the upvote back.

    Args: ``user`` an approved partner's user; ``playbook_id`` the playbook;
    ``upvoted`` ``True`` (upvote), ``False`` (take it back) or ``None`` (toggle). Asking
    for the state it is already in changes nothing, so a double tap or a resent
    request never counts twice.

    Returns ``{"id": int, "upvoted": bool, "upvote_count": int}``.
    Raises ``Forbidden`` (not an approved partner; code ``own_playbook`` for one's own
    playbook, published or not), ``NotFound`` (unknown, or someone else's unpublished
    playbook: only published ones are upvoted), ``ValidationError`` (``upvoted`` not a
    boolean).
    """
    _active_partner(user)
    if upvoted is not None and not isinstance(upvoted, bool):
        raise ValidationError("upvoted must be true or false.")
    pb = get_for_viewer(user, playbook_id)
    if pb.author_id == user.id:  # the only one who can see it unpublished, too
        raise Forbidden("You cannot upvote your own playbook.", code="own_playbook")
    has = db.session.scalar(select(PlaybookUpvote.id).where(
        PlaybookUpvote.playbook_id == pb.id, PlaybookUpvote.user_id == user.id)) is not None
    want = (not has) if upvoted is None else upvoted
    if want:
        if _insert_upvote(pb.id, user.id):
            db.session.execute(update(Playbook).where(Playbook.id == pb.id)
                               .values(upvote_count=Playbook.upvote_count + 1)
                               .execution_options(synchronize_session=False))
    else:
        gone = db.session.execute(delete(PlaybookUpvote).where(
            PlaybookUpvote.playbook_id == pb.id, PlaybookUpvote.user_id == user.id)
            .execution_options(synchronize_session=False)).rowcount
        if gone:
            db.session.execute(update(Playbook).where(Playbook.id == pb.id,
                                                      Playbook.upvote_count > 0)
                               .values(upvote_count=Playbook.upvote_count - 1)
                               .execution_options(synchronize_session=False))
    count = db.session.scalar(select(Playbook.upvote_count).where(Playbook.id == pb.id))
    db.session.expire(pb, ["upvote_count"])
    return {"id": pb.id, "upvoted": want, "upvote_count": int(count)}


# --- staff: write, review -------------------------------------------------------------------

def _facts(pb: Playbook) -> dict:
    return {"title": pb.title, "industry": pb.industry, "kind": pb.kind, "status": pb.status,
            "body_chars": len(pb.body or "")}


def save_playbook(actor: User, playbook_id, *, title, industry, kind, body,
                  status=None) -> Playbook:
    """Content staff write a playbook (``playbook_id`` ``None``) or edit one.

    Args: ``actor`` content staff; the four fields as for :func:`submit_playbook`;
    ``status`` ``draft`` (hidden) or ``published`` for playbooks staff wrote. A
    partner's playbook keeps its status here (``status`` must be ``None`` or the one it
    has): it is published or rejected in the review queue, which tells the author.

    Returns the row (flushed); audited ``playbook.create`` / ``playbook.update`` with the
    fields before and after (the body by length). Raises ``Forbidden`` (not content
    staff), ``NotFound``, ``FieldError``, ``ValidationError`` (a status not allowed).
    """
    _require_content(actor, "write playbooks")
    fields = _fields(title, industry, kind, body)
    now = now_utc()
    if playbook_id is None:
        status = status or "draft"
        if status not in ("draft", "published"):
            raise ValidationError("A new playbook is a draft or published.")
        pb = Playbook(**fields, author_id=actor.id, status=status, created_at=now,
                      updated_at=now, published_at=now if status == "published" else None)
        db.session.add(pb)
        db.session.flush()
        audit(actor.id, "playbook.create", "playbook", pb.id, None, _facts(pb))
        return pb
    pb = get_row(Playbook, playbook_id)
    if pb is None:
        raise NotFound("No such playbook.")
    before = _facts(pb)
    staff_written = pb.author is not None and pb.author.is_staff
    if status is not None and status != pb.status:
        if not staff_written:
            raise ValidationError("A partner's playbook is published or rejected in the "
                                  "review queue, so its author hears about it.")
        if status not in ("draft", "published"):
            raise ValidationError("A staff playbook is a draft or published.")
        if status == "published":
            pb.published_at = now
        pb.status = status
    for key, value in fields.items():
        setattr(pb, key, value)
    pb.updated_at = now
    db.session.flush()
    audit(actor.id, "playbook.update", "playbook", pb.id, before, _facts(pb))
    return pb


def review_queue(limit: int = 100) -> tuple[list[Playbook], int]:
    """Partners' submissions waiting for review, oldest first (authors loaded), and how
    many wait in all: ``(rows, count)``."""
    rows = list(db.session.scalars(select(Playbook).where(Playbook.status == "submitted")
                                   .options(joinedload(Playbook.author))
                                   .order_by(Playbook.id).limit(limit)))
    count = db.session.scalar(select(func.count()).select_from(Playbook).where(
        Playbook.status == "submitted")) or 0
    return rows, int(count)


#: Review decision → status it leads to.
DECISIONS = {"publish": "published", "reject": "rejected"}


def _playbook_xp(pb: Playbook) -> None:
    """XP to the partner whose playbook was published, once per playbook (rules: "XP,
    levels and streaks"); staff authors earn none."""
    from core.engagement.xp import record_action

    partner_id = db.session.scalar(select(Partner.id).where(Partner.user_id == pb.author_id))
    if partner_id is not None:
        record_action(partner_id, "playbook_published", f"playbook:{pb.id}")


def review_playbook(actor: User, playbook_id, decision: str, note=None) -> Playbook:
    """Content staff publish or reject a partner's submission.

    Args: ``actor`` content staff; ``decision`` ``publish`` or ``reject``; ``note`` to
    the author: optional when publishing, required (5–1,000 characters) when rejecting.
    Only a ``submitted`` playbook can be reviewed (so two reviewers clicking at once
    decide once: the status change is a conditional UPDATE).

    Returns the row. Records ``reviewed_by``/``reviewed_at``, sets ``published_at`` on
    publishing, notifies the author (kind ``playbook``, linking to the playbook) and
    writes the audit row ``playbook.publish`` / ``playbook.reject``. Raises
    ``Forbidden``, ``NotFound``, ``ValidationError`` (bad decision or note), ``Conflict``
    (not waiting for review).
    """
    _require_content(actor, "review playbooks")
    if decision not in DECISIONS:
        raise ValidationError("The decision is publish or reject.")
    note = _note(note, required=decision == "reject")
    pb = get_row(Playbook, playbook_id)
    if pb is None:
        raise NotFound("No such playbook.")
    now = now_utc()
    values = {"status": DECISIONS[decision], "review_note": note, "reviewed_by_id": actor.id,
              "reviewed_at": now, "updated_at": now}
    if decision == "publish":
        values["published_at"] = now
    done = db.session.execute(update(Playbook).where(
        Playbook.id == pb.id, Playbook.status == "submitted").values(**values)
        .execution_options(synchronize_session=False)).rowcount
    if not done:
        db.session.refresh(pb)
        raise Conflict(f"This playbook is {pb.status}, not waiting for review.")
    db.session.refresh(pb)
    audit(actor.id, f"playbook.{decision}", "playbook", pb.id, {"status": "submitted"},
          {"status": pb.status, "note": note})
    url = f"/partner/playbooks/{pb.id}"
    if decision == "publish":
        _playbook_xp(pb)
        notify(pb.author_id, "playbook", f"Your playbook is published: {pb.title}",
               note or "Every partner can read and upvote it now. Thank you for sharing.",
               url)
    else:
        notify(pb.author_id, "playbook", f"Your playbook was not published: {pb.title}",
               note, url)
    return pb


#: Status (``PLAYBOOK_STATUSES``) → how partners read it.
STATUS_LABELS = dict(zip(PLAYBOOK_STATUSES, ("Draft", "Waiting for review", "Published",
                                             "Not published"), strict=True))

