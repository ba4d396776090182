"""The portal's navigation: which section a page belongs to, the phone's bottom tabs and
the desktop's side navigation, from one table (so the tab lit is the page's own)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    """A place in the navigation. ``tab`` is the bottom tab it lights on a phone (a tab
    lights itself); ``desktop_only`` sections are listed in the side navigation only."""

    key: str
    label: str
    endpoint: str
    tab: str
    desktop_only: bool = False


SECTIONS = (
    Section("home", "Home", "portal.dashboard", "home"),
    Section("leads", "Leads", "portal.leads_page", "leads"),
    Section("chat", "Chat", "portal.chat_page", "chat"),
    Section("earnings", "Earnings", "portal.earnings", "earnings"),
    Section("materials", "Materials", "portal.materials", "materials"),
    Section("team", "Team", "portal.team_page", "home", desktop_only=True),
    Section("leaderboard", "Leaderboard", "portal.leaderboard_page", "home", desktop_only=True),
    Section("tiers", "Tier progress", "portal.tier_progression_page", "home", desktop_only=True),
    Section("badges", "Badges", "portal.badges_page", "home", desktop_only=True),
    Section("training", "Training", "portal.training_page", "home", desktop_only=True),
    Section("events", "Events", "portal.events_page", "home", desktop_only=True),
    Section("mentoring", "Mentoring", "portal.mentoring_page", "home", desktop_only=True),
    Section("playbooks", "Playbooks", "portal.playbooks_page", "home", desktop_only=True),
    Section("support", "Support", "portal.support_page", "home", desktop_only=True),
)

#: The section of each page (by endpoint) that is not a section's own first page.
_PAGE_SECTION = {
    "portal.dashboard": "home", "portal.notifications": "home",
    "portal.leads_page": "leads", "portal.lead_detail": "leads",
    "portal.chat_page": "chat",
    "portal.earnings": "earnings", "portal.tax_form": "earnings",
    "portal.materials": "materials", "portal.resources_page": "materials",
    "portal.branding_page": "materials",
    "portal.team_page": "team", "portal.leaderboard_page": "leaderboard",
    "portal.tier_progression_page": "tiers", "portal.badges_page": "badges",
    "portal.training_page": "training", "portal.module_page": "training",
    "portal.learning_paths_page": "training", "portal.bonus_pools_page": "team",
    "portal.events_page": "events", "portal.mentoring_page": "mentoring",
    "portal.playbooks_page": "playbooks", "portal.playbook_page": "playbooks",
    "portal.playbook_new": "playbooks",
    "portal.support_page": "support", "portal.ticket_page": "support",
}
_BY_KEY = {s.key: s for s in SECTIONS}


def section_of(endpoint: str | None) -> Section | None:
    """The navigation section of the page at ``endpoint``; ``None`` for pages outside it
    (the profile, which has its own link in the top bar)."""
    key = _PAGE_SECTION.get(endpoint or "")
    return _BY_KEY.get(key) if key else None
