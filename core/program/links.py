"""Campaign links ``/r/<code>/<slug>`` and the attribution settings (rules: "Links and
attribution")."""

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import current_app
from sqlalchemy import select

from core.base.audit import audit
from core.base.errors import Conflict, NotFound, ValidationError
from core.base.extensions import db, get_row
from core.base.models import Setting
from core.base.timeutil import now_utc
from core.program.models import Partner, ReferralLink

#: A slug: lower-case letters, digits and inner hyphens, 1–40 characters.
_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?")
#: Control characters and the characters that make HTML; refused in UTM values, sub-ids
#: and addresses (a link's name may hold quotes: "Bea's offer").
_UNSAFE = re.compile(r"[\x00-\x1f\x7f<>\"'`]")
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f<>]")
#: Text fields of a link and their limits (characters).
TEXT_LIMITS = {"name": 80, "utm_source": 100, "utm_medium": 100, "utm_campaign": 100,
               "sub_id": 100}
#: Attribution settings and their defaults (rules: "Links and attribution").
DEFAULT_ATTRIBUTION_DAYS = 90
ATTRIBUTION_MODELS = ("first", "last")


def attribution_days() -> int:
    """How long a click attributes a visitor's lead (days, 1–365; default 90), the
    ``attribution_days`` setting; the attribution cookie lasts as long."""
    row = db.session.get(Setting, "attribution_days")
    return int(row.value) if row is not None else DEFAULT_ATTRIBUTION_DAYS


def attribution_model() -> str:
    """``first`` (the first partner's cookie stays; default) or ``last`` (a newer click
    replaces it), the ``attribution_model`` setting."""
    row = db.session.get(Setting, "attribution_model")
    return row.value if row is not None and row.value in ATTRIBUTION_MODELS else "first"


def set_attribution(days, model: str, actor_id: int | None) -> dict:
    """Staff set the attribution window (whole days 1–365) and model (first|last);
    audited as ``settings.attribution``. Returns ``{"days", "model"}``. Raises
    ``ValidationError`` (422)."""
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 365:
        raise ValidationError("Attribution days must be a whole number from 1 to 365.")
    if model not in ATTRIBUTION_MODELS:
        raise ValidationError("Attribution must be first or last click.")
    before = {"days": attribution_days(), "model": attribution_model()}
    for key, value in (("attribution_days", str(days)), ("attribution_model", model)):
        row = db.session.get(Setting, key)
        if row is None:
            db.session.add(Setting(key=key, value=value))
        else:
            row.value = value
    audit(actor_id, "settings.attribution", "setting", None, before=before,
          after={"days": days, "model": model})
    return {"days": days, "model": model}


def clean_text(name: str, value) -> str:
    """A link's text field trimmed; over :data:`TEXT_LIMITS`, control characters or
    HTML characters (``< >``, and in UTM values and sub-ids also ``" ' ` ``) raise
    ``ValidationError`` (422)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be text.")
    if (_UNSAFE_NAME if name == "name" else _UNSAFE).search(value):
        raise ValidationError(f"{name} may not contain control characters or HTML "
                              "characters (< > \" ' `).")
    value = value.strip()
    if len(value) > TEXT_LIMITS[name]:
        raise ValidationError(f"{name} must be at most {TEXT_LIMITS[name]} characters.")
    return value


def check_target_url(url) -> str:
    """An https URL on a ``LINK_TARGET_HOSTS`` host (SISO's own sites), without user
    info; else ``ValidationError``. Returns the URL; ``""`` for none."""
    if not url:
        return ""
    if not isinstance(url, str) or len(url) > 500 or _UNSAFE.search(url):
        raise ValidationError("target_url must be an https address on a SISO site.")
    parts = urlsplit(url)
    hosts = current_app.config["LINK_TARGET_HOSTS"]
    if parts.scheme != "https" or parts.username or parts.password or parts.port \
            or (parts.hostname or "") not in hosts:
        raise ValidationError("target_url must be an https address on a SISO site: "
                              + ", ".join(hosts) + ".")
    return url


def create_link(partner: Partner, data: dict, actor_id: int | None) -> ReferralLink:
    """Create a campaign link for ``partner``.

    ``data``: ``name`` (required), ``slug`` (required, :data:`_SLUG`), ``landing_page_id``
    (a published page) or ``target_url`` (:func:`check_target_url`), at most one; neither
    means the default landing page; ``utm_source``/``utm_medium``/``utm_campaign``,
    ``sub_id`` optional. A slug the partner ever used, archived or not, is 409
    ``slug_taken`` (links are never reused). Audited as ``link.create``."""
    from core.content.landing import published_page

    slug = data.get("slug")
    if not isinstance(slug, str) or not _SLUG.fullmatch(slug):
        raise ValidationError("slug: 1–40 lower-case letters, digits and inner hyphens.")
    name = clean_text("name", data.get("name"))
    if not name:
        raise ValidationError("name is required.")
    fields = {k: clean_text(k, data.get(k)) for k in ("utm_source", "utm_medium",
                                                       "utm_campaign", "sub_id")}
    page_id, target = data.get("landing_page_id"), check_target_url(data.get("target_url"))
    if page_id is not None and target:
        raise ValidationError("Choose a landing page or a SISO address, not both.")
    page = published_page(page_id) if page_id is not None else None
    if db.session.scalar(select(ReferralLink.id).where(ReferralLink.partner_id == partner.id,
                                                       ReferralLink.slug == slug)):
        raise Conflict("You already used this slug; links are never reused.", code="slug_taken")
    link = ReferralLink(partner_id=partner.id, slug=slug, name=name,
                        landing_page_id=page.id if page else None, target_url=target,
                        created_at=now_utc(), **fields)
    db.session.add(link)
    db.session.flush()
    audit(actor_id, "link.create", "referral_link", link.id, after={"slug": slug})
    return link


def partner_links(partner: Partner, archived: bool = False) -> list[ReferralLink]:
    """The partner's campaign links, newest first (archived ones when ``archived``)."""
    cond = ReferralLink.archived_at.is_not(None) if archived else ReferralLink.archived_at.is_(None)
    return list(db.session.scalars(select(ReferralLink).where(
        ReferralLink.partner_id == partner.id, cond).order_by(ReferralLink.id.desc())))


def partner_link(partner: Partner, link_id) -> ReferralLink:
    """One of the partner's links (archived too); anyone else's raises ``NotFound``."""
    link = get_row(ReferralLink, link_id)
    if link is None or link.partner_id != partner.id:
        raise NotFound("No such link.")
    return link


def archive_link(link: ReferralLink, actor_id: int | None) -> ReferralLink:
    """Archive a link: it answers 404 from now on and its slug stays taken. Archiving an
    archived link changes nothing. Audited as ``link.archive``."""
    if link.archived_at is None:
        link.archived_at = now_utc()
        audit(actor_id, "link.archive", "referral_link", link.id, after={"slug": link.slug})
    return link


def link_for(partner: Partner, slug) -> ReferralLink:
    """The partner's live link for ``slug``; unknown or archived raises ``NotFound``."""
    if not isinstance(slug, str) or not _SLUG.fullmatch(slug):
        raise NotFound("No such referral link.")
    link = db.session.scalar(select(ReferralLink).where(ReferralLink.partner_id == partner.id,
                                                        ReferralLink.slug == slug))
    if link is None or link.archived_at is not None:
        raise NotFound("No such referral link.")
    return link


def target_with_utm(link: ReferralLink) -> str:
    """The link's SISO address with its UTM values and sub-id added to the query."""
    parts = urlsplit(link.target_url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(k, getattr(link, k)) for k in ("utm_source", "utm_medium", "utm_campaign")
              if getattr(link, k)]
    if link.sub_id:
        query.append(("sub_id", link.sub_id))
    return urlunsplit(parts._replace(query=urlencode(query)))


_ORIGIN = re.compile(r"https?://[a-z0-9.-]{1,253}(?::[0-9]{1,5})?")


def lead_origins() -> tuple[str, ...]:
    """The website origins allowed to report leads to ``/t/lead`` (setting
    ``lead_origins``, one per line; none by default)."""
    row = db.session.get(Setting, "lead_origins")
    return tuple(o for o in (row.value.split() if row is not None else ()) if o)


def set_lead_origins(text: str, actor_id: int | None) -> tuple[str, ...]:
    """Staff list the origins (``https://www.siso.example``, scheme, host and port only;
    at most 10, separated by spaces or lines); audited ``settings.lead_origins``. Raises
    ``ValidationError`` naming a bad one."""
    origins = []
    for item in (text or "").split():
        origin = item.strip().lower().rstrip("/")
        if not _ORIGIN.fullmatch(origin):
            raise ValidationError(f"Not an origin (scheme://host[:port]): {item[:80]}")
        if origin not in origins:
            origins.append(origin)
    if len(origins) > 10 or len(" ".join(origins)) > 200:
        raise ValidationError("At most 10 origins (200 characters).")
    before = lead_origins()
    row = db.session.get(Setting, "lead_origins")
    if row is None:
        db.session.add(Setting(key="lead_origins", value=" ".join(origins)))
    else:
        row.value = " ".join(origins)
    audit(actor_id, "settings.lead_origins", "setting", None, before={"origins": list(before)},
          after={"origins": origins})
    return tuple(origins)
