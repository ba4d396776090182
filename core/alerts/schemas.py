"""API shapes of notification preferences (rules: "Notification preferences")."""

from pydantic import Field

from core.base.schemas import Answer, ClosedRequest


class ChannelChoice(ClosedRequest):
    """The channels for one kind; a channel left out keeps its value."""

    portal: bool = Field(None, description="In the portal: badge, drawer and live notice")
    email: bool = Field(None, description="By e-mail (needs e-mail notices on in your "
                                          "profile and a verified address)")
    push: bool = Field(None, description="By web push to the devices you turned it on for")


class PreferencesUpdate(ClosedRequest):
    """Channels per notification kind to save, e.g. ``{"preferences": {"follow_up":
    {"email": false}}}``. Unticking every channel of an ``alert_*`` kind switches that
    coaching nudge off."""

    preferences: dict[str, ChannelChoice] = Field(
        description="kind → channels; kinds as listed by GET /api/notifications/preferences")


class KindPreference(Answer):
    """One notification kind and your channels for it (``chosen``: you saved a choice;
    otherwise these are the kind's defaults)."""

    kind: str
    label: str
    group: str
    portal: bool
    email: bool
    push: bool
    chosen: bool


class Preferences(Answer):
    """Your channels for every notification kind, whether web push is set up on this
    server, and its VAPID public key (``applicationServerKey`` for the Push API)."""

    items: list[KindPreference]
    push_available: bool
    vapid_public_key: str | None
