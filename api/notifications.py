"""Your notifications over the API (newest first, unread count, mark read) and the web
push subscriptions of your browsers and apps. Partners and staff alike, with a login
token."""

from flask import g

from api import api
from api.common import bearer
from api.spec import operation
from core.alerts.schemas import KindPreference, Preferences, PreferencesUpdate
from core.base.extensions import db
from core.community import notifications, push
from core.community.schemas import (
    AllRead,
    NewPushSubscription,
    Notification,
    NotificationPage,
    NotificationQuery,
    NotificationRead,
    PushSubscription,
    PushSubscriptionGone,
    PushUnsubscribed,
)


@api.get("/notifications")
@bearer("person")
@operation(200, NotificationPage)
def api_notifications(query: NotificationQuery):
    """Your notifications, newest first

    With the count of unread ones; older pages with ?cursor=<next_cursor>."""
    limit = query.limit
    rows, unread = notifications.latest(g.user.id, limit + 1, query.sent().get("cursor"))
    nxt = rows[limit - 1].id if len(rows) > limit else None
    return NotificationPage(items=[Notification.of(n) for n in rows[:limit]],
                            next_cursor=nxt, unread=unread)


@api.put("/notifications/<int:notification_id>/read")
@bearer("person")
@operation(200, NotificationRead)
def api_notification_read(notification_id: int):
    """Mark a notification read

    Marking a read one again keeps its first read time. Someone else's is a 404."""
    row = notifications.mark_read(g.user.id, notification_id)
    db.session.commit()
    return NotificationRead(id=row.id, read_at=row.read_at,
                            unread=notifications.unread_count(g.user.id))


@api.post("/notifications/read-all")
@bearer("person")
@operation(200, AllRead)
def api_notifications_read_all():
    """Mark all your notifications read"""
    marked = notifications.mark_all_read(g.user.id)
    db.session.commit()
    return AllRead(marked=marked, unread=0)


@api.post("/notifications/subscribe")
@bearer("person")
@operation(200, PushSubscription)
def api_push_subscribe(json: NewPushSubscription):
    """Register this device for web push

    Send PushSubscription.toJSON() as it is. The endpoint must be https on a browser push
    service (422 unknown_push_service otherwise); sending one again updates its keys. Up
    to 10 per person: the oldest is dropped."""
    row = push.subscribe(g.user.id, json.endpoint, json.keys.p256dh, json.keys.auth)
    db.session.commit()
    return PushSubscription.model_validate(row)


@api.delete("/notifications/subscribe")
@bearer("person")
@operation(200, PushUnsubscribed)
def api_push_unsubscribe(json: PushSubscriptionGone):
    """Stop web push to a device

    removed is false when none of your subscriptions had that endpoint."""
    removed = push.unsubscribe(g.user.id, json.endpoint)
    db.session.commit()
    return PushUnsubscribed(removed=removed)


def _preferences(user_id: int) -> Preferences:
    keys = push.vapid_keys()
    return Preferences(items=[KindPreference(**p) for p in notifications.preferences_of(user_id)],
                       push_available=keys is not None,
                       vapid_public_key=keys[1] if keys else None)


@api.get("/notifications/preferences")
@bearer("person")
@operation(200, Preferences)
def api_notification_preferences():
    """Your channels per notification kind

    For each kind: portal, e-mail and push on or off (defaults until you choose). Kinds
    not listed here reach you in the portal and by push."""
    return _preferences(g.user.id)


@api.put("/notifications/preferences")
@bearer("person")
@operation(200, Preferences)
def api_notification_preferences_update(json: PreferencesUpdate):
    """Choose channels per notification kind

    Send only the kinds and channels you change. An unknown kind or channel is 422 and
    nothing is saved. Unticking every channel of an alert_* kind switches that nudge off."""
    notifications.set_preferences(g.user.id, {k: v.sent() for k, v in json.preferences.items()})
    db.session.commit()
    return _preferences(g.user.id)
