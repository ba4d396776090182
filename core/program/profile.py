"""A partner's own profile (rules: "Partners"): the fields a partner may
edit, their limits, and the one function that changes them, used by the profile page and
``PUT /api/partner/profile`` alike.

A partner can never change their tier, rates, status, ids, referral code or e-mail here:
any key outside ``PROFILE_FIELDS`` is refused, so a crafted form or JSON body cannot set
them.
"""

import re
import zoneinfo
from functools import cache

from core.base.audit import audit
from core.base.errors import ValidationError
from core.base.timeutil import now_utc
from core.program.models import Partner

#: Editable text fields and their longest length (characters); ``name`` lives on the user.
TEXT_LIMITS = {"name": 120, "company_name": 200, "phone": 40, "industry": 80, "timezone": 64}
#: Contact preferences (booleans).
PREFERENCES = ("notify_email", "notify_portal")
#: Every key a partner may send.
PROFILE_FIELDS = tuple(TEXT_LIMITS) + PREFERENCES
#: Suggestions for the industry field (the industry channels); any text is accepted.
INDUSTRIES = ("Restaurants & hospitality", "Real estate", "Professional services",
              "Health & dental", "Retail & e-commerce", "Trades & home services",
              "Marketing agency", "Technology", "Other")



class FieldError(ValidationError):
    """A refusal of one field's value; ``field`` names it (the page shows it there)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


_PHONE = re.compile(r"^[0-9+()./\- ]*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@cache
def time_zones() -> tuple[str, ...]:
    """IANA time zone names a partner may choose, sorted (``UTC`` first)."""
    names = sorted(z for z in zoneinfo.available_timezones()
                   if "/" in z and not z.startswith(("Etc/", "SystemV/", "posix/", "right/")))
    return ("UTC",) + tuple(names)


#: The world regions of the time zone picker, in its order (the IANA names' first part).
TZ_REGIONS = {"America": "Americas", "Europe": "Europe", "Africa": "Africa", "Asia": "Asia",
              "Australia": "Australia", "Pacific": "Pacific", "Atlantic": "Atlantic",
              "Indian": "Indian Ocean", "Antarctica": "Antarctica", "Arctic": "Arctic"}


def _canonical_zones() -> set[str] | None:
    """The canonical zone names of the system's ``zone1970.tab`` (one per place, no
    aliases), or ``None`` when the system has none."""
    import os

    for folder in zoneinfo.TZPATH:
        path = os.path.join(folder, "zone1970.tab")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as fh:
                return {line.split("\t")[2].strip() for line in fh
                        if line.strip() and not line.startswith("#")}
    return None


@cache
def time_zone_groups() -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    """The time zones a partner picks from, grouped by region: ``((region label,
    ((zone, place label), ...)), ...)``; one name per place (aliases and legacy names such
    as ``US/Eastern`` left out, though still accepted when saved), ``UTC`` first."""
    canonical = _canonical_zones()
    groups: dict[str, list[tuple[str, str]]] = {r: [] for r in TZ_REGIONS}
    for zone in time_zones():
        region, _, place = zone.partition("/")
        if region in groups and (canonical is None or zone in canonical):
            groups[region].append((zone, place.replace("_", " ").replace("/", " / ")))
    return (("UTC", (("UTC", "UTC"),)),) + tuple(
        (TZ_REGIONS[r], tuple(sorted(zones, key=lambda z: z[1]))) for r, zones in groups.items()
        if zones)


def profile_values(partner: Partner) -> dict:
    """The partner's editable fields as they stand: ``{field: value}`` for ``PROFILE_FIELDS``."""
    return {"name": partner.user.name, "company_name": partner.company_name,
            "phone": partner.phone, "industry": partner.industry,
            "timezone": partner.timezone or "UTC", "notify_email": bool(partner.notify_email),
            "notify_portal": bool(partner.notify_portal)}


def _clean(key: str, value):
    if key in PREFERENCES:
        if not isinstance(value, bool):
            raise FieldError(key, f"{key} must be true or false.")
        return value
    limit = TEXT_LIMITS[key]
    if not isinstance(value, str) or _CONTROL.search(value):
        raise FieldError(key, f"{key} must be text of at most {limit} characters.")
    value = value.strip()
    if len(value) > limit:
        raise FieldError(key, f"{key} must be text of at most {limit} characters.")
    if key == "name" and not value:
        raise FieldError(key, "Enter your name.")
    if key == "phone" and not _PHONE.match(value):
        raise FieldError(key, "phone may hold digits, spaces and + ( ) . - only.")
    if key == "timezone" and value not in time_zones():
        raise FieldError(key, "Choose a time zone from the list, like Europe/London.")
    return value


def update_profile(partner: Partner, data: dict, actor_id: int | None = None) -> Partner:
    """Change the partner's own profile fields; keys left out stay as they are.

    ``data`` may hold only ``PROFILE_FIELDS``: text within ``TEXT_LIMITS`` (stripped;
    ``name`` not empty; ``phone`` digits and ``+ ( ) . -``; ``timezone`` an IANA name from
    ``time_zones()``) and booleans for ``PREFERENCES``. Anything else (tier, rate,
    status, partner_id...) raises ``ValidationError`` naming the keys, and nothing is
    changed. Audited when something changed. Returns the partner (not committed).
    """
    if not isinstance(data, dict):
        raise ValidationError("Send the profile fields as an object.")
    unknown = sorted(set(data) - set(PROFILE_FIELDS))
    if unknown:
        raise ValidationError(f"These fields cannot be changed here: {', '.join(unknown)}.")
    clean = {k: _clean(k, v) for k, v in data.items()}
    before = profile_values(partner)
    changed = {k: v for k, v in clean.items() if before[k] != v}
    for key, value in changed.items():
        setattr(partner.user if key == "name" else partner, key, value)
    if changed:
        # the name lives on the user row: the partner's change feed must still see it
        partner.updated_at = now_utc()
        audit(actor_id if actor_id is not None else partner.user_id, "partner.profile",
              "partner", partner.id, {k: before[k] for k in changed}, changed)
    return partner
