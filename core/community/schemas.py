"""The community's API shapes: chat channels and messages (the same shape over HTTP and
Socket.IO), the playbook library, achievements, the leaderboard and challenges.

Times are ISO 8601 UTC, money integer cents.
"""

from typing import Annotated, Literal

from core.base.schemas import (
    MAX_ID,
    MISSING,
    Answer,
    Field,
    Page,
    Query,
    QueryInt,
    Request,
    Says,
    Shape,
    Time,
)
from core.community.models import PLAYBOOK_KINDS, PLAYBOOK_STATUSES
from core.community.playbooks import (
    BODY_MAX,
    BODY_MIN,
    INDUSTRIES,
    MAX_LIMIT,
    PAGE_SIZE,
    QUERY_MAX,
    TITLE_MAX,
    TITLE_MIN,
)

# --- chat -------------------------------------------------------------------------------


class Channel(Shape):
    """A chat channel the user can read (``min_tier``: the tier it needs, if any)."""

    id: int
    slug: str
    name: str
    topic: str
    read_only: bool
    min_tier: str | None

    @classmethod
    def of(cls, c) -> "Channel":
        """The shape of a ``Channel`` row."""
        return cls(id=c.id, slug=c.slug, name=c.name, topic=c.topic, read_only=c.read_only,
                   min_tier=c.min_tier_key or None)


class ChannelPage(Page):
    """Channels the user can read."""

    items: list[Channel]
    next_cursor: None = None


class JoinedChannel(Shape):
    """A channel as a live chat client joins it: its title for this user (a direct
    message is titled by the other person) and whether they may post."""

    id: int
    slug: str
    kind: str
    title: str
    topic: str
    read_only: bool
    can_post: bool


class Reaction(Shape):
    """An emoji reaction and who gave it."""

    emoji: str
    count: int
    user_ids: list[int]


class Attachment(Shape):
    """A file sent in chat (image or PDF); ``url`` downloads it (members only)."""

    id: int
    filename: str
    content_type: str
    size_bytes: int
    url: str


class Message(Answer):
    """A chat message: Markdown ``body`` and its sanitised ``html`` (both empty once
    deleted), author, thread (``parent_id``, ``reply_count``), reactions, mentioned user
    ids and attachments."""

    id: int
    channel_id: int
    parent_id: int | None
    user_id: int
    author: str
    author_handle: str
    author_is_staff: bool
    body: str
    html: str
    deleted: bool
    edited_at: Time | None
    created_at: Time
    reply_count: int
    reactions: list[Reaction]
    mentions: list[int]
    attachments: list[Attachment]


class MessagePage(Page):
    """Newest 50 top-level messages, oldest first; ``next_cursor`` is the ``before`` of
    the older page."""

    items: list[Message]


class MessageQuery(Query):
    """Older messages: ids below ``before``."""

    before: QueryInt = Field(MISSING, ge=1, le=MAX_ID)


class NewMessage(Request):
    """A chat message: 1 to 2,000 characters of Markdown."""

    body: str = Field(min_length=1, max_length=2000)


# --- playbooks ----------------------------------------------------------------------------

Industry = Literal[INDUSTRIES]
Kind = Literal[PLAYBOOK_KINDS]


class Playbook(Answer):
    """A sales script or playbook. ``body`` (Markdown) and ``body_html`` (sanitised) come
    with one playbook (detail, submit); ``review_note`` and ``reviewed_at`` only to its
    author."""

    id: int
    title: str
    industry: Industry
    kind: Kind
    status: Literal[PLAYBOOK_STATUSES]
    author: str = Field(description='The partner\'s name, or "SISO team"')
    own: bool = Field(description="You wrote it")
    upvote_count: int = Field(ge=0)
    upvoted: bool = Field(description="You upvoted it")
    excerpt: str = Field(description="The start of the body as plain text")
    published_at: Time | None
    created_at: Time
    updated_at: Time
    body: str = Field(MISSING, description="Markdown (detail and submit only)")
    body_html: str = Field(MISSING, description="The body as sanitised HTML (detail and "
                                                "submit only)")
    review_note: str = Field(MISSING, description="The reviewer's note (your own only)")
    reviewed_at: Time | None = Field(MISSING, description="Your own only")

    @classmethod
    def of(cls, pb, viewer_id: int, upvoted: bool, full: bool = False) -> "Playbook":
        """Playbook ``pb`` as ``viewer_id`` sees it (``full`` adds the body)."""
        from core.community.playbooks import author_label, body_html, excerpt

        own = pb.author_id == viewer_id
        extra = {}
        if full:
            extra.update(body=pb.body, body_html=body_html(pb))
        if own:
            extra.update(review_note=pb.review_note, reviewed_at=pb.reviewed_at)
        return cls(id=pb.id, title=pb.title, industry=pb.industry, kind=pb.kind,
                   status=pb.status, author=author_label(pb), own=own,
                   upvote_count=pb.upvote_count, upvoted=bool(upvoted),
                   excerpt=excerpt(pb.body), published_at=pb.published_at,
                   created_at=pb.created_at, updated_at=pb.updated_at, **extra)


class PlaybookPage(Page):
    """Published playbooks, searched, filtered and sorted; ``total`` counts every match,
    ``next_cursor`` is the offset of the next page."""

    items: list[Playbook]
    total: int = Field(ge=0)


class SubmissionPage(Page):
    """Your own playbooks, newest first, with status and the reviewer's note."""

    items: list[Playbook]
    next_cursor: None = None


class PlaybookQuery(Query):
    """Search (every word in the title or body, case-insensitive), filter, sort, page."""

    q: str | None = Field(None, max_length=QUERY_MAX)
    industry: Annotated[Industry | None, Says(
        choice="Unknown industry: choose one from the list.")] = None
    kind: Kind | None = None
    sort: Literal["top", "new"] = "top"
    cursor: QueryInt = Field(0, ge=0, le=10**6, description="Offset of the page")
    limit: QueryInt = Field(PAGE_SIZE, ge=1, le=MAX_LIMIT)


_TITLE = f"Title must be {TITLE_MIN} to {TITLE_MAX} characters."


class NewPlaybook(Request):
    """Share a playbook: it waits for staff review (at most 5 of yours at once)."""

    title: Annotated[str, Says(type=f"Title must be text of {TITLE_MIN} to {TITLE_MAX} "
                                    "characters on one line.", size=_TITLE)] = Field(
        min_length=TITLE_MIN, max_length=TITLE_MAX)
    industry: Annotated[Industry, Says("Choose an industry from the list.")]
    kind: Annotated[Kind, Says("kind: choose whether it is a sales script or a playbook.")]
    body: Annotated[str, Says(
        type=f"body must be text of {BODY_MIN:,} to {BODY_MAX:,} characters.",
        size=f"body: write at least {BODY_MIN} characters, and at most {BODY_MAX:,}.")] = Field(
        min_length=BODY_MIN, max_length=BODY_MAX, description="Markdown")


class UpvoteChange(Request):
    """``upvoted`` true upvotes, false takes it back; null or an empty body toggles."""

    body_optional = True

    upvoted: bool | None = None


class Upvote(Answer):
    """A playbook's upvote state for you, and its count."""

    id: int
    upvoted: bool
    upvote_count: int = Field(ge=0)


# --- achievements, leaderboard, challenges ------------------------------------------------

class Progress(Shape):
    """How far a badge's condition is met."""

    done: int = Field(ge=0)
    target: int = Field(ge=0)


class Achievement(Shape):
    """A badge, earned or not, with its condition and the partner's progress."""

    key: str = Field(description="first_sale, quick_starter, team_builder, top_performer, "
                                 "first_month or tier_<tier key>")
    name: str
    condition: str = Field(description="What earns the badge")
    icon: str
    earned: bool
    awarded_at: Time | None
    progress: Progress | None
    closes_at: Time | None = Field(description="End of Quick Starter's window")


class AchievementList(Page):
    """Every badge, and how many are earned."""

    items: list[Achievement]
    earned: int = Field(ge=0)
    next_cursor: None = None


class LeaderboardRow(Shape):
    """A partner's rank; ``revenue_cents`` only on your own row."""

    rank: int
    partner_id: int
    name: str
    tier: str
    deals: int
    revenue_cents: int | None
    badges: list[str] = Field(description="Achievement keys held (tier badges left out)")


class Leaderboard(Page):
    """The top 10 and your own row."""

    items: list[LeaderboardRow]
    me: LeaderboardRow | None
    period: Literal["month", "all"]
    metric: Literal["deals", "revenue"]
    next_cursor: None = None


class LeaderboardQuery(Query):
    """This month or all time, by deals or revenue, optionally one tier."""

    period: Literal["month", "all"] = "month"
    metric: Literal["deals", "revenue"] = "deals"
    tier: str | None = Field(None, max_length=40, description="A tier key")


class Challenge(Shape):
    """An active challenge and your progress (deals, or revenue in cents)."""

    id: int
    name: str
    description: str
    metric: Literal["deals", "revenue"]
    target: int
    prize_cents: int
    starts_at: Time
    ends_at: Time
    progress: int


class ChallengePage(Page):
    """Active challenges."""

    items: list[Challenge]
    next_cursor: None = None


# --- notifications and web push ------------------------------------------------------------

class Notification(Shape):
    """A notice for you: what happened (``kind``), a title and body, and a path on this
    site to open (may be empty)."""

    id: int
    kind: str = Field(description="commission, commission_approved, tier_up, tier_down, "
                                  "achievement, payout, statement, approval, material, "
                                  "message, ticket...")
    title: str
    body: str
    url: str = Field(description="A path on this site, or empty")
    read: bool
    read_at: Time | None
    created_at: Time

    @classmethod
    def of(cls, n) -> "Notification":
        """The shape of a ``Notification`` row."""
        return cls(id=n.id, kind=n.kind, title=n.title, body=n.body, url=n.url,
                   read=n.read_at is not None, read_at=n.read_at, created_at=n.created_at)


class NotificationPage(Page):
    """Your notifications, newest first; ``next_cursor`` is the ``cursor`` of the next
    (older) page; ``unread`` counts all your unread ones."""

    items: list[Notification]
    unread: int = Field(ge=0)


class NotificationQuery(Query):
    """Page through your notifications: ids below ``cursor``, ``limit`` at a time."""

    cursor: QueryInt = Field(MISSING, ge=1, le=MAX_ID)
    limit: QueryInt = Field(20, ge=1, le=100)


class NotificationRead(Answer):
    """A notification marked read, and how many of yours are still unread."""

    id: int
    read_at: Time
    unread: int = Field(ge=0)


class AllRead(Answer):
    """Every notification of yours marked read: how many were unread."""

    marked: int = Field(ge=0)
    unread: int = Field(ge=0)


class PushKeys(Request):
    """The subscription's keys, as ``PushSubscription.toJSON()`` gives them (base64url)."""

    p256dh: str = Field(max_length=100, description="P-256 public key, 65 bytes")
    auth: str = Field(max_length=40, description="Auth secret, 16 bytes")


class NewPushSubscription(Request):
    """A browser's push subscription: ``PushSubscription.toJSON()`` as it is
    (``expirationTime`` is accepted and ignored)."""

    endpoint: str = Field(min_length=1, max_length=2048,
                          description="https URL of the browser's push service")
    keys: PushKeys


class PushSubscriptionGone(Request):
    """The subscription to forget, by its endpoint."""

    endpoint: str = Field(min_length=1, max_length=2048)


class PushSubscription(Answer):
    """A stored push subscription (the keys are not sent back)."""

    id: int
    endpoint: str
    created_at: Time
    updated_at: Time


class PushUnsubscribed(Answer):
    """Whether a subscription of yours with that endpoint was removed."""

    removed: bool
