"""Notifications: stored for the notifications drawer, pushed live after commit, and by
the user's choice of channels per kind also e-mailed and sent by web push (rules:
"E-mail", "Notification preferences", "Web push"). Every notice goes through
:func:`notify`, so the routing rule lives here once."""

from dataclasses import dataclass

from sqlalchemy import exists, func, select, update

from core.accounts.models import User
from core.alerts.models import NotificationPreference
from core.base.bulkwrite import block_memo, buffer_row
from core.base.errors import NotFound, ValidationError
from core.base.extensions import db, get_row
from core.base.jobs import QUEUE_EMAIL, job, job_logger
from core.base.mail import public_url, send_email
from core.base.outbox import emit_after_commit
from core.base.timeutil import now_utc
from core.community.models import Notification
from core.program.models import Partner

#: Kinds that also go out by e-mail: application approved, commission approved, payout
#: sent / failed / returned, tier up, support replied. Everything else (new pending
#: commission, mentions, materials, statements, tier down) stays in the portal.
EMAIL_KINDS = frozenset({"approval", "rejection", "commission_approved", "payout", "tier_up", "ticket"})

#: The channels a notice can take (rules: "Notification preferences").
CHANNELS = ("portal", "email", "push")


@dataclass(frozen=True)
class Kind:
    """A notification kind as the preferences screen lists it, with its default channels
    (used while the user has chosen nothing for it)."""

    key: str
    label: str
    group: str
    portal: bool = True
    email: bool = False
    push: bool = True

    def defaults(self) -> dict[str, bool]:
        """``{"portal": bool, "email": bool, "push": bool}``: the default channels."""
        return {"portal": self.portal, "email": self.email, "push": self.push}


def _kinds(*rows) -> dict[str, Kind]:
    return {k.key: k for k in rows}


#: Every kind a partner can choose channels for, in the screen's order. E-mail is on by
#: default exactly for :data:`EMAIL_KINDS` (as before preferences existed) and for the
#: reminders; push is on by default everywhere (it reaches only devices the user turned
#: on). Performance alerts (``alert_*``) are switched off by unticking every channel.
KINDS = _kinds(
    Kind("approval", "Application approved", "Account", email=True),
    Kind("rejection", "Application declined", "Account", email=True),
    Kind("tier_up", "Tier up", "Account", email=True),
    Kind("tier_down", "Tier down", "Account"),
    Kind("commission", "New commission (pending)", "Money"),
    Kind("commission_approved", "Commission approved", "Money", email=True),
    Kind("payout", "Payouts (sent, failed, returned)", "Money", email=True),
    Kind("statement", "Statements ready", "Money"),
    Kind("follow_up", "Lead follow-up reminders", "Reminders", email=True),
    Kind("event_reminder", "Event reminders", "Reminders", email=True),
    Kind("event_cancelled", "Event cancelled", "Reminders", email=True),
    Kind("alert_no_lead", "Nudge: no new lead in 14 days", "Coaching"),
    Kind("alert_stale_proposal", "Nudge: a proposal untouched for 21 days", "Coaching"),
    Kind("alert_next_tier", "Nudge: one deal from the next tier", "Coaching"),
    Kind("alert_streak", "Nudge: weekly streak about to break", "Coaching"),
    Kind("achievement", "Achievements", "Community"),
    Kind("spotlight", "Partner of the month", "Community"),
    Kind("certificate", "Certificates earned", "Learning"),
    Kind("mention", "Mentions in chat", "Community"),
    Kind("mentor", "Mentoring (paired, ended)", "Community"),
    Kind("playbook", "Your playbooks", "Community"),
    Kind("material", "Materials ready", "Community"),
    Kind("ticket", "Support replies", "Support", email=True),
)

#: Channels of a kind not in :data:`KINDS` (another part of the program may add kinds
#: before the screen lists them): the portal and push, no e-mail.
DEFAULT_KIND = Kind("", "Other notices", "Other")


def kind_info(kind: str) -> Kind:
    """The :class:`Kind` of ``kind`` (:data:`DEFAULT_KIND`, keyed ``kind``, when unlisted)."""
    found = KINDS.get(kind)
    if found is not None:
        return found
    return Kind(kind, kind.replace("_", " ").capitalize(), DEFAULT_KIND.group,
                DEFAULT_KIND.portal, DEFAULT_KIND.email, DEFAULT_KIND.push)


def channels_for(user_id: int, kind: str) -> dict[str, bool]:
    """The channels ``user_id`` chose for ``kind`` (their row in
    ``notification_preferences``, else the kind's defaults): ``{"portal", "email",
    "push"}`` to bool. E-mail also needs :func:`wants_email` when sent. One query, none
    for a user already asked in the same ``bulk_rows`` block. Rules: "Notification
    preferences"."""
    memo = block_memo()
    cache = memo.setdefault("channels", {}) if memo is not None else None
    chosen = cache.get(user_id) if cache is not None else None
    if chosen is None:  # every kind the user set, in one query (a deal notifies several)
        chosen = {r.kind: {"portal": r.portal, "email": r.email, "push": r.push}
                  for r in db.session.scalars(select(NotificationPreference).where(
                      NotificationPreference.user_id == user_id))}
        if cache is not None:
            cache[user_id] = chosen
    return chosen.get(kind) or kind_info(kind).defaults()


def preferences_of(user_id: int) -> list[dict]:
    """Every kind of :data:`KINDS` with the user's channels, in the screen's order:
    ``[{"kind", "label", "group", "portal", "email", "push", "chosen"}]`` (``chosen``:
    the user saved a choice, else the defaults show). One query."""
    rows = {r.kind: r for r in db.session.scalars(select(NotificationPreference).where(
        NotificationPreference.user_id == user_id))}
    out = []
    for k in KINDS.values():
        r = rows.get(k.key)
        chans = {c: getattr(r, c) for c in CHANNELS} if r is not None else k.defaults()
        out.append({"kind": k.key, "label": k.label, "group": k.group, **chans,
                    "chosen": r is not None})
    return out


def set_preferences(user_id: int, choices) -> list[dict]:
    """Save the user's channels for some kinds.

    Args: ``choices`` ``{kind: {"portal": bool, "email": bool, "push": bool}}``; a channel
    left out keeps its current value. Kinds must be in :data:`KINDS`. Returns
    :func:`preferences_of`. Raises ``ValidationError`` (422) for an unknown kind or
    channel or a value that is not true/false; nothing is saved then. Rules:
    "Notification preferences"."""
    if not isinstance(choices, dict):
        raise ValidationError("Send an object of kinds, each with its channels.")
    clean = {}
    for kind, chans in choices.items():
        if kind not in KINDS:
            raise ValidationError(f"{kind!r} is not a notification kind you can choose "
                                  f"channels for.", code="unknown_kind")
        if not isinstance(chans, dict):
            raise ValidationError(f"{kind}: give its channels as an object, e.g. "
                                  f'{{"portal": true, "email": false, "push": true}}.')
        for channel, value in chans.items():
            if channel not in CHANNELS:
                raise ValidationError(f"{kind}: {channel!r} is not a channel (portal, "
                                      f"email or push).", code="unknown_channel")
            if not isinstance(value, bool):
                raise ValidationError(f"{kind}.{channel} must be true or false.")
        clean[kind] = chans
    current = {p["kind"]: p for p in preferences_of(user_id)}
    rows = {r.kind: r for r in db.session.scalars(select(NotificationPreference).where(
        NotificationPreference.user_id == user_id,
        NotificationPreference.kind.in_(list(clean))))}
    for kind, chans in clean.items():
        row = rows.get(kind)
        if row is None:
            row = NotificationPreference(user_id=user_id, kind=kind)
            db.session.add(row)
        for channel in CHANNELS:
            setattr(row, channel, chans.get(channel, current[kind][channel]))
        row.updated_at = now_utc()
    db.session.flush()
    return preferences_of(user_id)


def user_room(user_id: int) -> str:
    """Name of the per-user Socket.IO room that carries live notifications."""
    return f"user:{user_id}"


def wants_email(user: User | None) -> bool:
    """Whether notification e-mails may go to ``user``: a partner (staff get none) who is
    not suspended, kept "E-mail me about ..." on in their profile (``notify_email``) and
    whose address is verified (mail never goes to an address nobody proved is theirs).
    Rule: the profile's contact preferences (core/profile.py). One query."""
    return user is not None and user_wants_email(user.id)


def _email_ok():
    """SQL condition on ``Partner`` joined to ``User``: the rule of :func:`wants_email`."""
    return (Partner.notify_email.is_(True), Partner.status != "suspended",
            User.email_verified_at.is_not(None))


def user_wants_email(user_id: int) -> bool:
    """:func:`wants_email` for a user id, in one query, or none inside a
    ``core.base.bulkwrite.bulk_rows`` block that :func:`prefetch_email_wishes` filled."""
    memo = block_memo()
    if memo is not None and user_id in memo.get("email_wishes", {}):
        return memo["email_wishes"][user_id]
    return db.session.scalar(select(exists().where(
        User.id == user_id, Partner.user_id == User.id, *_email_ok()))) or False


def prefetch_email_wishes(user_ids) -> None:
    """Inside a ``bulk_rows`` block, answer :func:`user_wants_email` for all of
    ``user_ids`` with one query (a batch's notices then ask nothing more)."""
    memo = block_memo()
    ids = set(user_ids)
    if memo is None or not ids:
        return
    yes = set(db.session.scalars(select(User.id).join(Partner, Partner.user_id == User.id)
                                 .where(User.id.in_(ids), *_email_ok())))
    memo.setdefault("email_wishes", {}).update({uid: uid in yes for uid in ids})


def notify(user_id: int, kind: str, title: str, body: str = "", url: str = "") -> Notification:
    """Store a notification for ``user_id`` and send it by the channels they chose for
    ``kind`` (:func:`channels_for`; rules: "Notification preferences").

    ``kind`` is a short tag (``commission``, ``tier_up``, ``event_reminder``..., at most 30
    characters); a kind not in :data:`KINDS` takes :data:`DEFAULT_KIND`'s channels.
    Portal on: pushed live on their socket room after commit and unread in the drawer;
    off: kept in their list already read (no badge, no toast). E-mail on, for a user who
    :func:`wants_email`: the job ``send_notification_email`` after the commit (which
    checks again). Push on, with web push set up and a device subscribed: the job
    ``core.community.push.send_notification_push`` after the commit. ``url`` is the
    site path the notice opens. Returns the row (flushed when a job is queued, so it has
    its id); ``None`` inside ``core.base.bulkwrite.bulk_rows``, which writes it with the
    batch's other rows (and queues the jobs once it has its id).
    """
    from core.community.push import queue_push, wants_push

    title = title[:200]
    chans = channels_for(user_id, kind)
    values = dict(user_id=user_id, kind=kind[:30], title=title, body=body, url=url,
                  read_at=None if chans["portal"] else now_utc())
    if chans["portal"]:
        emit_after_commit("notification", {"kind": kind, "title": title, "body": body,
                                           "url": url}, user_room(user_id))
    email = chans["email"] and user_wants_email(user_id)
    pushed = chans["push"] and wants_push(user_id)

    def queue(notification_id: int) -> None:
        if email:
            _queue_email(notification_id)
        if pushed:
            queue_push(notification_id)

    if buffer_row(Notification, values, on_id=queue if email or pushed else None):
        return None
    row = Notification(**values)
    db.session.add(row)
    if email or pushed:
        db.session.flush()
        queue(row.id)
    return row


def _queue_email(notification_id: int) -> None:
    send_notification_email.after_commit(notification_id,
                                         job_id=f"email-notification-{notification_id}")


#: Notifications the top bar's drawer lists.
DRAWER_LIMIT = 10


def unread_count(user_id: int) -> int:
    """How many of the user's notifications are unread. One query."""
    return int(db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))) or 0)


def latest(user_id: int, limit: int = DRAWER_LIMIT, before_id: int | None = None
           ) -> tuple[list[Notification], int]:
    """The user's newest ``limit`` notifications (read or not; with ``before_id``, those
    with smaller ids) and how many of all their notifications are unread:
    ``(rows newest first, unread count)``. Two queries."""
    q = select(Notification).where(Notification.user_id == user_id)
    if before_id is not None:
        q = q.where(Notification.id < before_id)
    rows = list(db.session.scalars(q.order_by(Notification.id.desc()).limit(limit)))
    return rows, unread_count(user_id)


def mark_all_read(user_id: int) -> int:
    """Mark every unread notification of ``user_id`` read now; returns how many (int).
    Only that user's rows are touched. One UPDATE."""
    return db.session.execute(update(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=now_utc())).rowcount or 0


def mark_read(user_id: int, notification_id) -> Notification:
    """Mark one of the user's own notifications read (once: a read one keeps its time)
    and return it. Raises ``NotFound`` for an id that is not an int, does not exist or
    belongs to someone else (the same answer, so ids reveal nothing)."""
    row = get_row(Notification, notification_id)
    if row is None or row.user_id != user_id:
        raise NotFound("No such notification.")
    if row.read_at is None:
        row.read_at = now_utc()
    return row


# --- the e-mail copy (worker) ------------------------------------------------------------------

@job(queue=QUEUE_EMAIL, retries=3)
def send_notification_email(notification_id: int) -> str:
    """E-mail the copy of a notification to its partner, when its kind's e-mail channel is
    on for them (:func:`channels_for`; by default the kinds of ``EMAIL_KINDS`` and the
    reminders).

    The contact preference is checked again here (``wants_email`` and the kind's
    channel: the partner may have opted out since). Returns ``"sent"``, ``"already_sent"``, or ``"skipped"`` (gone,
    not an e-mailed kind, opted out, unverified or suspended). Idempotent: a copy that
    went out (``emailed_at``) is not sent again.
    """
    log = job_logger(__name__)
    row = db.session.get(Notification, notification_id)
    if row is None or not channels_for(row.user_id, row.kind)["email"]:
        return "skipped"
    if row.emailed_at is not None:
        return "already_sent"
    user = db.session.get(User, row.user_id)
    if not wants_email(user):
        log.info("notification %s not e-mailed: partner opted out or cannot receive",
                 notification_id)
        return "skipped"
    send_email(user.email, "notification", name=user.name, title=row.title, body=row.body,
               link=public_url(row.url) if row.url.startswith("/") else "",
               profile_link=public_url("/partner/profile"))
    row.emailed_at = now_utc()
    log.info("notification %s e-mailed to user %s", notification_id, user.id)
    return "sent"
