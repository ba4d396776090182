"""The access matrix (rules: "Staff roles", SECURITY.md): every route of ``app.url_map`` and every
Socket.IO event, for every kind of visitor, against a written table of expected answers.

Principals (columns): ``anon``; partners of each tier ``starter``, ``active``,
``performer``, ``elite``; ``suspended`` (a partner who logged in, got a session cookie
and a bearer token, and was then suspended); staff ``admin``, ``finance``, ``support``,
``content``.

How a cell is measured:

- Pages are fetched with the principal's session cookie; ``/api`` routes with the
  principal's bearer token (the API ignores cookies). Each rule is called with its
  natural method(s): every page method (GET, and POST where the rule takes it), the one
  method of each API rule.
- URL arguments are ids of objects that exist and belong to partner **B**, who is none of
  the principals (B's lead, ticket, statement, render, DM attachment, DM channel...), so
  a partner's cell on an id route is the object-level check.
- POSTs to forms carry a valid CSRF token of the principal's own session and otherwise
  an empty form, so the status measured is the access check, not CSRF nor a side effect:
  an allowed principal gets the form's own answer to an empty submission (200 form
  again, 302 with a flash, 400/422 for an empty body). JSON API writes send ``{}``.
- Statuses: ``200``, ``403``, ...; redirects are written ``302>login`` (to the login
  page), ``302>admin`` (a partner page sends staff to /admin/), ``302>dash`` (to the
  partner dashboard) or ``302`` (anywhere else, e.g. a form's own success page). Socket
  cells are ``ok``, an error code, or ``refused`` (connection refused).

The principals run one after another in the column order, and each principal's routes in
the table's order (session-ending ``/logout`` last), so a cell that depends on an
earlier principal's write is reproducible; those cells say so in a comment.

The test fails on any cell that differs, on any rule or event the table does not cover
(a new route must be classified here), and on table rows for rules that no longer exist.
"""

import io
import json
import os
import re

import pytest
from conftest import api_token, csrf_from, login, make_partner, make_staff, make_staff_once

from core.base.extensions import db

PARTNERS = ("starter", "active", "performer", "elite")
STAFF = ("admin", "finance", "support", "content")
PRINCIPALS = ("anon", *PARTNERS, "suspended", *STAFF)


# --- building the expected rows ---------------------------------------------------------

def row(anon, partner, suspended, staff) -> dict:
    """A full row from four answers; ``partner`` and ``staff`` may be a single answer or
    a dict per tier / per role."""
    out = {"anon": anon, "suspended": suspended}
    for p in PARTNERS:
        out[p] = partner[p] if isinstance(partner, dict) else partner
    for s in STAFF:
        out[s] = staff[s] if isinstance(staff, dict) else staff
    return out


def public(status=200) -> dict:
    """Everyone gets the same answer (static files, health, the referral landing...)."""
    return row(status, status, status, status)


def partner_page(ok=200, staff="302>admin") -> dict:
    """A portal page: log in first; staff are sent to the back office."""
    return row("302>login", ok, "302>login", staff)


def tiers(starter, active, performer, elite) -> dict:
    return {"starter": starter, "active": active, "performer": performer, "elite": elite}


def back_office(roles, ok=200, refused=403) -> dict:
    """A back-office screen for ``roles`` (admin always): anonymous and suspended go to
    the login page, partners and other staff get 403."""
    staff = {s: (ok if s == "admin" or s in roles else refused) for s in STAFF}
    return row("302>login", 403, "302>login", staff)


def api_partner(ok=200) -> dict:
    """A partner API route: 401 without a valid token (a suspended partner's token died),
    403 for a staff token."""
    return row(401, ok, 401, 403)


def api_person(ok=200) -> dict:
    """An API route for any person with a login token, partner or staff (a suspended
    partner's token died)."""
    return row(401, ok, 401, ok)


def api_staff(roles, ok=200) -> dict:
    """A staff API route needing ``roles`` (admin always; ``()`` any staff)."""
    staff = {s: (ok if not roles or s == "admin" or s in roles else 403) for s in STAFF}
    return row(401, 403, 401, staff)


def either(rowdict: dict, **cells) -> dict:
    """``rowdict`` with some cells replaced (``either(back_office(...), admin=302)``)."""
    return {**rowdict, **cells}


# --- the table --------------------------------------------------------------------------

#: What an allowed role gets from each standard Flask-Admin model-view URL with no id and
#: an empty form: the list opens (200); details/edit/export/new without an id, or switched
#: off on a read-only view, go back to the list (302); actions and deletes with no rows
#: selected go back to the list (302); ajax lookups/updates name no field (404).
MODEL_VIEW_ALLOWED = {
    "GET /": 200, "GET ajax/lookup/": 404, "GET details/": 302, "GET edit/": 302,
    "GET export/<export_type>/": 302, "GET new/": 302, "POST action/": 302,
    "POST ajax/update/": 404, "POST delete/": 302, "POST edit/": 302, "POST new/": 302,
}

#: Flask-Admin model views: URL prefix -> (roles besides admin, views that can create).
MODEL_VIEWS = {
    # finance reads the audit trail: AuditLogView.is_accessible admits admin and finance
    # (its ``roles`` attribute says admin only, but is_accessible is what runs)
    "audit": (("finance",), False), "challenges": (("finance", "content"), False),
    "commissions": (("finance",), False), "deals": (("finance", "support"), False),
    "leads": (("finance", "support"), False),
    "material-renders": (("support", "content"), False),
    "materials": (("content",), True), "partners": (("support",), False),
    "payouts": (("finance",), False), "quiz": (("content",), True),
    "tax_forms": (("finance",), False),
    "staff": ((), False), "statements": (("finance",), False),
    "tickets": (("support",), False), "tiers": ((), False),
    "training": (("content",), True), "resources": (("content",), False),
    "chat/channels": (("content",), True), "playbooks": (("content",), True),
    "webhook-endpoints": ((), False), "webhook-deliveries": ((), False),
    "landing-pages": (("content",), True),
    "bonus-pools": (("finance",), False), "learning-paths": (("content",), False),
    "xp-rules": (("content",), False), "levels": (("content",), True),
    "badges": (("content",), True),
}

FINANCE, SUPPORT, CONTENT = ("finance",), ("support",), ("content",)
ADMIN = ("admin",)  # admin only (``back_office(())`` means the same for screens)

EXPECTED: dict[str, dict] = {}
for _prefix, (_roles, _creates) in MODEL_VIEWS.items():
    for _suffix, _ok in MODEL_VIEW_ALLOWED.items():
        _method, _path = _suffix.split(" ")
        if _creates and _path == "new/":
            _ok = 200  # the create form (an empty POST shows it again with errors)
        EXPECTED[f"{_method} /admin/{_prefix}/{_path.lstrip('/')}"] = back_office(_roles, _ok)

#: Model views without a details page (their rows open an edit screen of their own).
NO_DETAILS = {"resources", "chat/channels"}
for _prefix, (_roles, _creates) in MODEL_VIEWS.items():
    if _prefix not in NO_DETAILS:
        EXPECTED[f"GET /admin/{_prefix}/details/?id=<row>"] = back_office(_roles, 200)

EXPECTED.update({
    # --- back office: custom screens -------------------------------------------------
    "GET /admin/": back_office(STAFF),                   # any staff member
    "GET /admin/static/<path:filename>": public(),
    "GET /admin/reauth/": back_office(STAFF),
    "GET /admin/webhook-endpoints/new": back_office(()),
    "POST /admin/webhook-endpoints/new": back_office(()),  # form again with its errors
    "POST /admin/webhook-endpoints/test/<int:endpoint_id>": back_office((), 302),
    "POST /admin/webhook-deliveries/replay/<int:delivery_id>": back_office((), 302),
    "POST /admin/reauth/": back_office(STAFF, 401),      # empty password: 401, form again
    "GET /admin/challenges/new": back_office(("finance", "content")),
    "POST /admin/challenges/new": back_office(("finance", "content")),  # form + errors
    "GET /admin/challenges/standings/<int:challenge_id>": back_office(("finance", "content")),
    # awarding prizes is money: finance only, content may look
    "POST /admin/challenges/standings/<int:challenge_id>": back_office(FINANCE, 302),
    "GET /admin/commissions/reason/<kind>": back_office(FINANCE, 302),  # no ids: to list
    "POST /admin/commissions/reason/<kind>": back_office(FINANCE, 302),
    "GET /admin/deals/cancel/<int:deal_id>": back_office(FINANCE),
    "POST /admin/deals/cancel/<int:deal_id>": back_office(FINANCE),  # form again: reason
    "GET /admin/exports/": back_office(FINANCE),
    "POST /admin/exports/": back_office(FINANCE, 422),
    "GET /admin/jobs/": back_office(FINANCE),
    "POST /admin/jobs/retry/<queue>/<job_id>": back_office(FINANCE, 302),  # no such job
    "GET /admin/leads/confirm/<int:lead_id>": back_office(FINANCE),
    "POST /admin/leads/confirm/<int:lead_id>": back_office(FINANCE, 422),  # no deal value
    "GET /admin/materials/preview/<int:template_id>": back_office(CONTENT, 404),
    "GET /admin/landing-pages/preview/<int:page_id>": back_office(CONTENT),
    "GET /admin/attribution/": back_office(()),
    "POST /admin/attribution/": back_office(()),  # empty form: the form again
    "GET /admin/fraud/": back_office(FINANCE),
    "POST /admin/fraud/<int:flag_id>/decide": back_office((), 400),  # no decision named
    "GET /admin/fraud-rules/": back_office(()),
    "GET /admin/program-analytics/": back_office(FINANCE),
    "GET /admin/program-analytics/csv": back_office(FINANCE),
    "POST /admin/fraud-rules/": back_office((), 422),  # empty form: thresholds missing
    "GET /admin/materials/review/<int:template_id>": back_office(CONTENT),
    "POST /admin/materials/review/<int:template_id>": back_office(CONTENT, 422),
    "POST /admin/materials/review/<int:template_id>/publish": back_office(CONTENT, 302),
    "GET /admin/partners/profile/<int:partner_id>": back_office(SUPPORT),
    "POST /admin/partners/profile/<int:partner_id>/override": back_office((), 302),
    "POST /admin/partners/profile/<int:partner_id>/team": back_office((), 302),
    "POST /admin/partners/profile/<int:partner_id>/approve": back_office((), 302),
    "POST /admin/partners/profile/<int:partner_id>/reject": back_office((), 302),
    "GET /admin/to-confirm/": back_office(FINANCE),
    "GET /admin/partner-lookup/": back_office(FINANCE + SUPPORT),
    "POST /admin/partners/profile/<int:partner_id>/reset-password": back_office(SUPPORT, 302),
    "POST /admin/payouts/batch": back_office(FINANCE, 302),
    "GET /admin/payouts/bank-file": back_office(FINANCE),
    "POST /admin/exports/1099-nec": back_office(FINANCE, 303),  # no year: back with a flash
    "GET /admin/tax_forms/review/<int:form_id>": back_office(FINANCE),
    "POST /admin/tax_forms/review/<int:form_id>": back_office(FINANCE, 422),  # no decision
    "GET /admin/payouts/new": back_office(FINANCE),
    "POST /admin/payouts/new": back_office(FINANCE),     # form again: no partner chosen
    "GET /admin/payouts/record/<int:payout_id>": back_office(FINANCE),
    "POST /admin/payouts/record/<int:payout_id>": back_office(FINANCE),
    "GET /admin/payouts/retry/<int:payout_id>": back_office(FINANCE),
    "POST /admin/payouts/retry/<int:payout_id>": back_office(FINANCE, 422),  # not failed
    "GET /admin/settings/": back_office(FINANCE),
    "POST /admin/settings/": back_office(FINANCE),
    "GET /admin/staff/roles/<int:user_id>": back_office(()),
    "POST /admin/staff/roles/<int:user_id>": back_office(()),
    "GET /admin/statement-batches/": back_office(FINANCE),
    # The form defaults to last month, which has no ledger activity here: refused with a
    # message on the form.
    "POST /admin/statement-batches/": back_office(FINANCE, 200),
    "GET /admin/statement-batches/<int:batch_id>": back_office(FINANCE),
    "GET /admin/statement-batches/<int:batch_id>/zip": back_office(FINANCE, 404),  # no zip
    "POST /admin/statement-batches/<int:batch_id>/rebuild-zip": back_office(FINANCE, 302),
    "POST /admin/statement-batches/<int:batch_id>/retry": back_office(FINANCE, 302),
    "GET /admin/statements/new": back_office(FINANCE),
    "POST /admin/statements/new": back_office(FINANCE),
    "GET /admin/tickets/ticket/<int:ticket_id>": back_office(SUPPORT),
    "POST /admin/tickets/ticket/<int:ticket_id>": back_office(SUPPORT),
    "GET /admin/tiers/edit/<int:tier_id>": back_office(()),
    # partner of the month: admins only; an empty form chooses nobody
    "GET /admin/spotlight/": back_office(ADMIN),
    "POST /admin/spotlight/<int:month_id>/confirm": back_office(ADMIN, 422),
    # bonus pools are money: finance; the world's pool is still running, so settling is 409
    "GET /admin/bonus-pools/new": back_office(FINANCE),
    "POST /admin/bonus-pools/new": back_office(FINANCE, 422),  # empty form: errors
    "GET /admin/bonus-pools/<int:pool_id>": back_office(FINANCE),
    "POST /admin/bonus-pools/<int:pool_id>": back_office(FINANCE, 409),
    "GET /admin/learning-paths/new": back_office(CONTENT),
    "POST /admin/learning-paths/new": back_office(CONTENT, 422),  # empty form: errors
    "GET /admin/learning-paths/<int:path_id>/edit": back_office(CONTENT),
    "POST /admin/learning-paths/<int:path_id>/edit": back_office(CONTENT, 422),
    "POST /admin/tiers/edit/<int:tier_id>": back_office((), 422),

    # --- public and account pages ---------------------------------------------------------
    "GET /": row("302>dash", "302>dash", "302>dash", "302>admin"),
    "GET /healthz": public(), "GET /static/<path:filename>": public(),
    "GET /livez": public(), "GET /readyz": public(),
    "GET /metrics": public(404),                         # no METRICS_TOKEN in tests
    "GET /sw.js": public(), "GET /api/openapi.json": public(),
    "GET /api/asyncapi.json": public(),
    "GET /login": public(), "POST /login": public(),   # empty form: the form again
    "GET /partner/login": public(), "POST /partner/login": public(),
    "GET /partner/register": public(), "POST /partner/register": public(422),
    "GET /partner/agreement": public(),
    "GET /r/<code>": public(), "POST /r/<code>": public(422),  # B's link; empty lead form
    "GET /r/<code>/<slug>": public(), "POST /r/<code>/<slug>": public(422),  # B's campaign link
    "GET /r/<code>/brand/<sha>.png": public(404),  # B has no logo
    "GET /t.js": public(), "POST /t/lead": public(403),  # no origin is a listed origin
    "POST /theme": public(400),                          # no theme chosen
    "POST /webhooks/stripe": public(503),                # no webhook secret in tests
    "POST /webhooks/paypal": public(503),                # no PayPal webhook id in tests
    "GET /login/two-factor": public("302>login"),        # no password step under way
    "POST /login/two-factor": public("302>login"),
    # e-mail links (token: not a valid one, so everyone gets the 400 "link cannot be used"
    # page); forgot password is public, an empty form is 422; resending the verification
    # e-mail needs a log-in, and every matrix principal is verified already (back to the
    # dashboard with "already verified")
    "GET /verify-email/<token>": public(400),
    "GET /password/reset/<token>": public(400), "POST /password/reset/<token>": public(400),
    "GET /password/forgot": public(), "POST /password/forgot": public(422),
    "POST /account/verify-email": row("302>login", "303>dash", "302>login", "303>dash"),
    "GET /account/password": row("302>login", 200, "302>login", 200),
    "POST /account/password": row("302>login", 422, "302>login", 422),
    "GET /logout": row("302>login", 200, "302>login", 200),  # the confirm page
    "POST /logout": public("302>login"),

    # --- partner portal -----------------------------------------------------------------
    "GET /partner/dashboard": partner_page(), "GET /partner/earnings": partner_page(),
    "GET /partner/leaderboard": partner_page(), "GET /partner/leads": partner_page(),
    "POST /partner/leads": partner_page(422), "POST /partner/leads/log-sale": partner_page(303),
    "GET /partner/materials": partner_page(), "GET /partner/notifications": partner_page(),
    "GET /partner/notifications/drawer": partner_page(),
    "POST /partner/notifications/read-all": partner_page(303),  # back to the list
    # B's notification: 404 to every other partner, nothing marked read
    "GET /partner/notifications/<int:notification_id>/open": partner_page(404),
    "POST /partner/onboarding/dismiss": partner_page("303>dash"),
    "GET /partner/profile": partner_page(), "POST /partner/profile": partner_page(422),
    "GET /partner/profile/notifications": partner_page(),
    "POST /partner/profile/notifications": partner_page(303),  # an empty form: all off
    "POST /partner/profile/push": partner_page(422),        # no subscription sent
    "POST /partner/profile/push/remove": partner_page(200),  # nothing to remove
    # an empty goal form clears the goal: saved, back to the profile
    "POST /partner/profile/goals": partner_page(303), "GET /partner/badges": partner_page(),
    "GET /partner/branding": partner_page(), "POST /partner/branding": partner_page(303),
    "GET /partner/referral/qr.<fmt>": partner_page(),
    "GET /partner/links": partner_page(), "POST /partner/links": partner_page(422),
    "GET /partner/analytics": partner_page(), "GET /partner/analytics.csv": partner_page(),
    # B's campaign link: 404 to every other partner, nothing archived
    "POST /partner/links/<int:link_id>/archive": partner_page(404),
    "GET /partner/links/<int:link_id>/qr.<fmt>": partner_page(404),
    "GET /partner/support": partner_page(), "POST /partner/support": partner_page(422),
    "GET /partner/team": partner_page(), "GET /partner/tier-progression": partner_page(),
    "POST /partner/team/invite": partner_page(303),  # empty form: flash, back to the page
    "GET /partner/training": partner_page(),
    "GET /partner/learning-paths": partner_page(),
    "GET /partner/bonus-pools": partner_page(),
    # B's certificate: 404 to everyone but B, staff included; anyone verifies its code
    "GET /partner/certificates/<int:certificate_id>/download": partner_page(404, 404),
    "GET /verify/<code>": public(),
    "GET /api/certificates/verify/<code>": public(),
    "GET /api/partner/learning-paths": api_partner(),
    "GET /api/partner/certificates/<int:certificate_id>/download": api_partner(404),
    "GET /api/spotlight": api_partner(), "GET /api/partner/bonus-pools": api_partner(),
    "GET /api/staff/spotlight": api_staff(ADMIN),
    "POST /api/staff/spotlight/<int:month_id>/confirm": api_staff(ADMIN, 404),  # {}: nobody
    # the last module is locked until the required ones are passed: starter has none
    "GET /partner/training/<int:module_id>": partner_page(tiers(403, 200, 200, 200)),
    "POST /partner/training/<int:module_id>": partner_page(tiers(403, 200, 200, 200)),
    "POST /partner/payouts/request": partner_page(303),  # refused with a flash: too little
    "POST /partner/payout-method/choose": partner_page(303),  # refused with a flash: no method
    "GET /partner/tax-form": partner_page(),
    "GET /partner/tax-form/<int:form_id>/download": partner_page(404, 404),  # B's; not rendered
    "GET /partner/tax-summary/<int:year>": partner_page(),  # the principal's own year, PDF
    "POST /partner/tax-form": partner_page(422),         # empty form: no form chosen
    "POST /partner/payout-method": partner_page(409),    # Stripe not configured in tests
    "GET /partner/payout-method/return": partner_page(302),
    # a white-label template (performer+): the refusal for lower tiers is a flash
    "POST /partner/materials/<int:template_id>/request": partner_page(303),
    # marketing resources: the catalogue for every partner; B's world holds an Elite-only
    # resource, so downloading it is 403 (locked, with a message) below Elite
    "GET /partner/resources": partner_page(200),
    # the Elite resource is not co-brandable: the refusal is flashed, back to the library
    "POST /partner/resources/<int:resource_id>/cobrand": partner_page(303),
    "GET /partner/resources/<int:resource_id>/download": partner_page(tiers(403, 403, 403, 200)),
    "GET /api/partner/resources": api_partner(200),
    "GET /api/partner/resources/<int:resource_id>/download": api_partner(
        tiers(403, 403, 403, 200)),
    # chat in the back office: support moderates, content runs channels and announcements
    "GET /admin/chat/moderation/": back_office(SUPPORT),
    "POST /admin/chat/moderation/delete/<int:message_id>": back_office(SUPPORT, 302),
    "GET /admin/chat/moderation/mute": back_office(SUPPORT),
    "POST /admin/chat/moderation/mute": back_office(SUPPORT, 422),  # empty form: errors
    "POST /admin/chat/moderation/unmute/<int:mute_id>": back_office(SUPPORT, 302),
    "GET /admin/chat/announcements/": back_office(CONTENT),
    "POST /admin/chat/announcements/": back_office(CONTENT, 422),  # empty form: errors
    "GET /admin/resources/upload": back_office(CONTENT),
    "POST /admin/resources/upload": back_office(CONTENT, 422),  # empty form: errors again
    "GET /admin/resources/<int:resource_id>/edit": back_office(CONTENT),
    # an empty form keeps every field as it was: nothing to change, back to the list
    "POST /admin/resources/<int:resource_id>/edit": back_office(CONTENT, 302),
    # B's objects: 404 to every other partner (object level), staff go to /admin
    "GET /partner/leads/<int:lead_id>": partner_page(404),
    "POST /partner/leads/<int:lead_id>": partner_page(404),
    "POST /partner/leads/<int:lead_id>/activity": partner_page(404),
    "POST /partner/leads/<int:lead_id>/move": partner_page(404),
    "POST /partner/leads/<int:lead_id>/follow-up": partner_page(404),  # B's lead
    "POST /partner/leads/<int:lead_id>/remove": partner_page(404),
    "GET /partner/leads/<own>": partner_page(200),       # control: their own lead opens
    "GET /partner/support/<int:ticket_id>": partner_page(404),
    "POST /partner/support/<int:ticket_id>": partner_page(404),
    # login-only pages (staff read too): B's render, statement, DM and attachment are 404
    # to everyone but their owners, staff included
    "GET /partner/materials/renders/<int:render_id>": partner_page(404, 404),
    "GET /partner/materials/renders/<int:render_id>/download": partner_page(404, 404),
    "GET /partner/statements/<int:statement_id>/download": partner_page(404, 404),
    "GET /partner/chat": partner_page(200, 200), "POST /partner/chat": partner_page(200, 200),
    "GET /partner/chat/<slug>": partner_page(404, 404),  # slug: B and C's DM
    "POST /partner/chat/<slug>": partner_page(404, 404),
    "GET /partner/chat/<slug>/messages": partner_page(404, 404),
    "GET /partner/chat/<slug>/search": partner_page(404, 404),
    "POST /partner/chat/<slug>/attachments": partner_page(404, 404),
    "GET /partner/chat/attachments/<int:attachment_id>": partner_page(404, 404),
    "POST /partner/chat/dm/<int:user_id>": partner_page(303, 403),  # staff use support chat
    "POST /partner/chat/support": partner_page(303, 403),
    # tier-locked channels follow the tier; staff read every public channel
    "GET /partner/chat/general": partner_page(200, 200),
    # (a tier-locked channel's page says which tier unlocks it: 403, not 404)
    "GET /partner/chat/active-lounge": partner_page(tiers(403, 200, 200, 200), 200),
    "GET /partner/chat/performer-hub": partner_page(tiers(403, 403, 200, 200), 200),
    "GET /partner/chat/elite-council": partner_page(tiers(403, 403, 403, 200), 200),

    # playbook library: reading is open to every partner (applied ones too), sharing and
    # upvoting need approval; B's playbook waits for review, so it is 404 to every other
    # partner (only its author sees it unpublished), and so is upvoting it
    "GET /partner/playbooks": partner_page(),
    "GET /partner/playbooks/new": partner_page(),
    "POST /partner/playbooks/new": partner_page(422),   # empty form: errors again
    "GET /partner/playbooks/<int:playbook_id>": partner_page(404),
    "POST /partner/playbooks/<int:playbook_id>/upvote": partner_page(404),
    "GET /api/partner/playbooks/<int:playbook_id>": api_partner(404),
    "POST /api/partner/playbooks/<int:playbook_id>/upvote": api_partner(404),
    "POST /api/partner/playbooks": api_partner(422),
    # the review queue is content's; admin (first in column order) publishes B's playbook
    # with an empty note, content then gets a flash "not waiting for review"; rejecting
    # with an empty note is refused with a flash: back to the queue either way
    # event calendar: an Elite-only event (world), so only Elite may RSVP (403 page for
    # the others); cancelling without an RSVP is a no-op (302); the calendar feed without
    # a token is 404 for everyone; B's mentorship is 404 to every other partner
    "GET /partner/events": partner_page(),
    "POST /partner/events/<int:event_id>/rsvp": partner_page(tiers(403, 403, 403, 302)),
    "POST /partner/events/<int:event_id>/cancel": partner_page(302),
    "POST /partner/calendar/token": partner_page(302),
    "POST /partner/calendar/token/revoke": partner_page(302),
    "GET /partner/calendar.ics": public(404),
    "GET /partner/mentoring": partner_page(),
    "POST /partner/mentoring/offer": partner_page(302),  # empty form: "not offering"
    "POST /partner/mentoring/<int:mentorship_id>/end": partner_page(404),
    "GET /api/partner/events": api_partner(),
    "POST /api/partner/events/<int:event_id>/rsvp": api_partner(tiers(403, 403, 403, 200)),
    "DELETE /api/partner/events/<int:event_id>/rsvp": api_partner(),
    "POST /api/staff/events": api_staff(CONTENT, 422),
    # events screens are content's; an empty attendance form names nobody and the event
    # has not started (302 with the reason); admin (first in column order) cancels the
    # event, content then gets "already cancelled" (302 with the reason)
    "GET /admin/events/": back_office(CONTENT),
    "GET /admin/events/new": back_office(CONTENT),
    "POST /admin/events/new": back_office(CONTENT, 422),  # empty form: errors again
    "GET /admin/events/<int:event_id>": back_office(CONTENT),
    "POST /admin/events/<int:event_id>/attendance": back_office(CONTENT, 302),
    "POST /admin/events/<int:event_id>/cancel": back_office(CONTENT, 302),
    # mentors: admin only; an empty pairing form names nobody (302 with the reason);
    # admin ends B's mentorship (302)
    "GET /admin/mentors/": back_office(ADMIN),
    "POST /admin/mentors/pair": back_office(ADMIN, 302),
    "POST /admin/mentors/<int:mentorship_id>/end": back_office(ADMIN, 302),
    "GET /admin/playbook-review/": back_office(CONTENT),
    "POST /admin/playbook-review/<int:playbook_id>/publish": back_office(CONTENT, 302),
    "POST /admin/playbook-review/<int:playbook_id>/reject": back_office(CONTENT, 302),

    # --- API: auth (no token needed; {} is not a valid login) --------------------------------
    "POST /api/auth/partner/login": public(401), "POST /api/auth/staff/login": public(401),
    "POST /api/auth/partner/register": public(422),
    "POST /api/auth/partner/reset-password": public(422),          # {} names no address
    "POST /api/auth/partner/reset-password/confirm": public(422),  # {} has no token

    # --- API: partner ---------------------------------------------------------------------
    **{f"GET /api/{path}": api_partner() for path in (
        "chat/channels", "leaderboard", "leaderboard/challenges", "partner/achievements",
        "partner/commissions",
        "partner/earnings/chart", "partner/earnings/summary", "partner/leads",
        "partner/materials",
        "partner/profile", "partner/statements", "partner/team", "partner/tier-status",
        "partner/training/modules", "partner/training/progress", "partner/playbooks",
        "partner/engagement",
        "partner/playbooks/submissions")},
    "PUT /api/partner/profile": api_partner(200),        # {} changes nothing
    "POST /api/partner/leads": api_partner(422),
    "GET /api/partner/links": api_partner(), "POST /api/partner/links": api_partner(422),
    "GET /api/partner/analytics": api_partner(),
    "GET /api/partner/analytics.csv": api_partner(),
    "GET /api/staff/fraud/flags": api_staff(FINANCE),
    "GET /api/staff/analytics/program": api_staff(FINANCE),
    "GET /api/staff/analytics/program.csv": api_staff(FINANCE),
    "POST /api/staff/fraud/flags/<int:flag_id>/decide": api_staff(ADMIN, 422),  # {}: no decision
    "DELETE /api/partner/links/<int:link_id>": api_partner(404),  # B's link
    "POST /api/partner/payout/request": api_partner(422),  # too little approved
    "GET /api/partner/payout-method": api_partner(), "PUT /api/partner/payout-method":
    api_partner(422),                                    # {}: no method named
    "GET /api/partner/tax-form": api_partner(),
    "PUT /api/partner/tax-form": api_partner(422),       # {}: no form named
    "POST /api/partner/training/complete": api_partner(404),  # no module named
    "POST /api/partner/training/quiz/submit": api_partner(404),
    # B's lead and B and C's DM channel: 404 to every other partner
    "GET /api/partner/leads/<int:lead_id>": api_partner(404),
    "PUT /api/partner/leads/<int:lead_id>": api_partner(404),
    "POST /api/partner/leads/<int:lead_id>/activity": api_partner(404),
    "POST /api/partner/leads/<int:lead_id>/move": api_partner(404),
    "DELETE /api/partner/leads/<int:lead_id>": api_partner(404),
    "POST /api/partner/resources/download": api_partner(404),   # {} names no resource
    "POST /api/partner/team/invite": api_partner(422),          # {} names no address
    "GET /api/partner/team/performance": api_partner(tiers(403, 403, 200, 200)),
    "POST /api/partner/resources/customize": api_partner(422),  # {} names nothing
    "GET /api/partner/renders/<int:render_id>": api_partner(404),           # B's render
    "GET /api/partner/renders/<int:render_id>/download": api_partner(404),
    # a download link is its own permission: a made-up one is a 404 for everyone
    "GET /api/partner/resources/files/<token>": public(404),
    "GET /api/chat/<int:channel_id>/messages": api_partner(404),
    "POST /api/chat/<int:channel_id>/messages": api_partner(404),

    # --- API: notifications, anyone's own (B's notification is a 404 to everyone else) ---
    "GET /api/notifications": api_person(200),
    "PUT /api/notifications/<int:notification_id>/read": api_person(404),
    "POST /api/notifications/read-all": api_person(200),
    "POST /api/notifications/subscribe": api_person(422),   # {} names no endpoint
    "DELETE /api/notifications/subscribe": api_person(400),  # no JSON body sent
    "GET /api/notifications/preferences": api_person(200),
    "PUT /api/notifications/preferences": api_person(422),  # {} names no preferences

    # --- API: staff (422/409: the role passed, the empty body did not) ----------------------
    "GET /api/staff/api-keys": api_staff(()),
    "POST /api/staff/api-keys": api_staff((), 422),
    # the admin's own key: admin revokes it, other staff cannot see it (404)
    "DELETE /api/staff/api-keys/<int:key_id>": either(api_staff((), 404), admin=200),
    "GET /api/staff/exports/ledger.csv": api_staff(FINANCE, 422),  # no period given
    "GET /api/staff/partners/<int:partner_id>/balance": api_staff(("finance", "support")),
    # statements: finance reads any; others get 404, as for a statement that is not theirs
    "GET /api/staff/statements/<int:statement_id>": api_staff(FINANCE) | {
        "support": 404, "content": 404},
    "POST /api/staff/statements": api_staff(FINANCE, 422),
    "POST /api/staff/commissions/approve": api_staff(FINANCE, 422),
    "POST /api/staff/commissions/<int:commission_id>/hold": api_staff(FINANCE, 422),
    "POST /api/staff/deals/<int:deal_id>/cancel": api_staff(FINANCE, 422),
    "POST /api/staff/leads/<int:lead_id>/confirm": api_staff(FINANCE, 409),  # not won yet
    "POST /api/staff/deals/confirm": api_staff(FINANCE, 422),  # {} has no leads
    "POST /api/staff/partners/<int:partner_id>/approve": api_staff(ADMIN, 409),  # already
    "POST /api/staff/partners/<int:partner_id>/bonus": api_staff(FINANCE, 422),
    "POST /api/staff/partners/<int:partner_id>/tier-override": api_staff(ADMIN, 422),
    "PUT /api/staff/partners/<int:partner_id>/team": api_staff(ADMIN, 422),
    "POST /api/staff/payouts": api_staff(FINANCE, 404),  # no partner named
    # B's requested payout: admin (first in column order) approves it, finance then
    # gets 409 (already approved) -- never paid twice
    "POST /api/staff/payouts/<int:payout_id>/approve": either(api_staff(FINANCE, 409),
                                                             admin=200),
    "POST /api/staff/payouts/batch": api_staff(FINANCE, 201),  # {} = everyone due
    # --- CRM sync: change feeds, leads by the CRM's id, CRM ids ------------------------
    "GET /api/staff/partners": api_staff(("finance", "support")),
    "GET /api/staff/leads": api_staff(("finance", "support")),
    "GET /api/staff/deals": api_staff(("finance", "support")),
    "GET /api/staff/commissions": api_staff(FINANCE),
    "GET /api/staff/payouts": api_staff(FINANCE),
    # {} names no partner: 404, as any unknown partner
    "PUT /api/staff/leads/by-external-id/<external_id>": api_staff(("finance", "support"), 404),
    "PUT /api/staff/partners/<int:partner_id>/external-id": api_staff(ADMIN, 422),
    "PUT /api/staff/deals/<int:deal_id>/external-id": api_staff(FINANCE, 422),
    # --- recurring deals: invoices (finance), the partner's monthly deals ----------------
    "POST /api/staff/deals/<int:deal_id>/invoices": api_staff(FINANCE, 422),  # {}: no invoice
    "GET /api/staff/deals/<int:deal_id>/invoices": api_staff(("finance", "support")),
    "POST /api/staff/deals/<int:deal_id>/invoices/<external_invoice_id>/refund":
        api_staff(FINANCE, 404),  # no such invoice of that deal
    "GET /api/partner/recurring-deals": api_partner(),
    "PUT /api/staff/deals/<int:deal_id>/stripe-subscription": api_staff(FINANCE, 422),
    # --- outbound webhooks: admin only --------------------------------------------------
    "GET /api/staff/webhooks": api_staff(ADMIN),
    "POST /api/staff/webhooks": api_staff(ADMIN, 422),  # {} names no url
    "GET /api/staff/webhooks/<int:endpoint_id>": api_staff(ADMIN),
    "PATCH /api/staff/webhooks/<int:endpoint_id>": api_staff(ADMIN, 400),  # no JSON body
    "DELETE /api/staff/webhooks/<int:endpoint_id>": api_staff(ADMIN),  # a second endpoint
    "GET /api/staff/webhooks/<int:endpoint_id>/deliveries": api_staff(ADMIN),
    "POST /api/staff/webhooks/<int:endpoint_id>/pause": api_staff(ADMIN),
    "POST /api/staff/webhooks/<int:endpoint_id>/rotate-secret": api_staff(ADMIN),
    "POST /api/staff/webhooks/<int:endpoint_id>/test": api_staff(ADMIN, 409),  # paused above
    "POST /api/staff/webhooks/deliveries/<int:delivery_id>/replay": api_staff(ADMIN, 409),
})

# --- the world ----------------------------------------------------------------------------

def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (20, 10), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def world(app):
    """Partner B (active, one approved commission in a requested payout, a lead, a ticket,
    a statement, a material render, a DM with C holding an attachment, a message in
    #general, a playbook waiting for review), one partner per tier, a suspended partner, and one staff member per role.
    Returns the ids and names the URL arguments are filled with."""
    from sqlalchemy import select

    from core.accounts.models import User
    from core.accounts.users import create_api_key
    from core.base.models import AuditLog
    from core.base.timeutil import now_utc
    from core.community import chat
    from core.community.challenges import create_challenge
    from core.community.models import Attachment, Channel, Notification
    from core.content.materials import install_builtin_templates, request_material
    from core.content.models import MaterialTemplate, QuizQuestion, TrainingModule
    from core.engagement.models import Badge, Level, XpRule
    from core.money.commissions import approve_commissions
    from core.money.models import Commission, Deal
    from core.money.payouts import create_payout
    from core.money.statement_batches import start_batch
    from core.money.statements import issue_statement
    from core.program.leads import create_lead
    from core.program.models import Tier
    from core.support.tickets import open_ticket

    with app.app_context():
        install_builtin_templates()
        factory = make_staff_once()
        b = make_partner("Bea Other", email="b@example.com", deals=1)
        c = make_partner("Cal Third", email="c@example.com")
        approve_commissions(list(db.session.scalars(select(Commission.id).where(
            Commission.partner_id == b.id))), factory.id)
        payout = create_payout(b.id, factory.id)
        lead = create_lead(b, {"company_name": "B's secret prospect"}, b.user_id)
        ticket = open_ticket(b, "B's ticket", "help me", "other")
        now = now_utc()
        statement = issue_statement(b.id, now.year, now.month, factory.id)
        batch = start_batch(now.year, now.month, factory.id)
        templates = {t.key: t.id for t in db.session.scalars(select(MaterialTemplate))}
        render, _ = request_material(b, b.user_id, next(iter(templates.values())),
                                     "https://partners.example/r/B")
        b_user = db.session.get(User, b.user_id)
        dm = chat.open_dm(b_user, c.user_id)
        att_msg = chat.add_attachment(b_user, dm, "flyer.png", _png(), "our flyer")
        general = db.session.scalar(select(Channel).where(Channel.slug == "general"))
        msg = chat.post_message(b_user, general, "hello from B", slow_mode=False)
        doomed = chat.post_message(b_user, general, "delete me", slow_mode=False)
        from core.community.moderation import mute
        from core.content.resources import upload_resource

        c_mute = mute(factory, c.user_id, 60, "matrix: a mute to lift")

        elite_asset = upload_resource(factory.id,
                                   title="Elite pricing sheet", category="brochure",
                                   tier_key="elite", co_brandable=False, description="",
                                   filename="pricing.png", data=_png())
        challenge = create_challenge(factory.id, "Spring sprint", "deals", 3, 10000,
                                     now, now.replace(year=now.year + 1))
        from core.community.playbooks import submit_playbook

        playbook = submit_playbook(b_user, "B's secret script", "Real estate", "script",
                                   "B's way of opening a call with an estate agent, " * 2)
        from core.payments.tax import submit_tax_form

        tax_form = submit_tax_form(b, {
            "form": "w9", "legal_name": "Bea Other", "tax_classification": "individual",
            "address": "1 Main St", "tin_type": "ssn", "tin": "536-90-4399",
            "certification": True, "signature_name": "Bea Other",
            "signed_on": now.date().isoformat()}, b.user_id)

        from core.webhooks.deliveries import send_test
        from core.webhooks.endpoints import create_endpoint

        hook = create_endpoint(factory.id, "http://127.0.0.1:9/matrix", ["lead.created"])
        delivery = send_test(hook.id, factory.id)
        doomed_hook = create_endpoint(factory.id, "http://127.0.0.1:9/doomed", ["lead.won"])
        from core.content.models import LandingPage
        from core.program.links import create_link

        landing = LandingPage(slug="b-page", title="A page", status="published")
        db.session.add(landing)
        db.session.flush()
        b_link = create_link(b, {"name": "B's campaign", "slug": "b-campaign",
                                 "landing_page_id": landing.id}, b.user_id)
        from core.program.models import FraudFlag

        flag = FraudFlag(rule="duplicate_lead", partner_id=b.id, lead_id=lead.id)
        db.session.add(flag)
        from core.content.certificates import issue
        from core.content.paths import save_path
        from core.engagement.models import SpotlightMonth
        from core.engagement.pools import create_pool

        path = save_path(factory.id, None, "matrix-path", "Matrix path", "",
                         [db.session.scalar(select(TrainingModule.slug))])
        cert = issue(b, path)
        month = SpotlightMonth(period="2020-01")
        db.session.add(month)
        pool = create_pool(factory.id, "B's team pool", b.id, "deals", 3, 10_000, now,
                           now.replace(year=now.year + 1))
        from datetime import timedelta

        from core.events.events import create_event
        from core.program.models import Mentorship

        event = create_event(factory, {
            "kind": "webinar", "title": "Elite-only briefing", "timezone": "UTC",
            "starts_at": now + timedelta(days=7), "ends_at": now + timedelta(days=7, hours=1),
            "host": "SISO", "join_url": "https://meet.example.com/elite", "capacity": 50,
            "min_tier_key": "elite"})
        mentorship = Mentorship(mentor_id=c.id, mentee_id=b.id, active_mentee_id=b.id,
                                status="active", ends_at=now + timedelta(days=30))
        db.session.add(mentorship)
        db.session.flush()
        db.session.commit()

        for key, deals in zip(PARTNERS, (0, 3, 10, 25)):
            make_partner(key.title() + " Partner", email=f"{key}@example.com", deals=deals)
        make_partner("Sus Pended", email="suspended@example.com")
        for role in STAFF:
            make_staff(f"{role}@example.com", (role,))
        admin_user = db.session.scalar(select(User).where(User.email == "admin@example.com"))
        _, key = create_api_key(admin_user, "matrix key", ["finance"])
        db.session.commit()
        ids = {
            "lead_id": lead.id, "ticket_id": ticket.id, "statement_id": statement.id,
            "render_id": render.id, "attachment_id": db.session.scalar(select(Attachment.id).where(
                Attachment.message_id == att_msg.id)),
            "channel_id": dm.id, "dm_slug": dm.slug, "user_id": c.user_id,
            "partner_id": b.id, "payout_id": payout.id,
            "commission_id": db.session.scalar(select(Commission.id).where(
                Commission.partner_id == b.id)),
            "deal_id": db.session.scalar(select(Deal.id)),
            "template_id": templates["white-label-overview"],
            "templates": templates,
            "module_id": db.session.scalar(select(TrainingModule.id).where(  # Active-locked
                TrainingModule.min_tier_key > "").order_by(TrainingModule.position.desc())),
            "challenge_id": challenge.id, "batch_id": batch.id, "key_id": key.id,
            "tier_id": db.session.scalar(select(Tier.id)), "staff_user_id": admin_user.id,
            "quiz_id": db.session.scalar(select(QuizQuestion.id)),
            "audit_id": db.session.scalar(select(AuditLog.id)),
            "endpoint_id": hook.id, "delivery_id": delivery.id,
            "doomed_endpoint_id": doomed_hook.id,
            "resource_id": elite_asset.id, "mute_id": c_mute.id, "playbook_id": playbook.id,
            "form_id": tax_form.id, "event_id": event.id, "mentorship_id": mentorship.id,
            "notification_id": db.session.scalar(select(Notification.id).where(
                Notification.user_id == b.user_id).limit(1)),
            "flag_id": flag.id, "pool_id": pool.id, "path_id": path.id,
            "certificate_id": cert.id, "cert_code": cert.code, "month_id": month.id, "link_id": b_link.id, "link_slug": b_link.slug, "page_id": landing.id,
            "xp_rule_id": db.session.scalar(select(XpRule.id)),
            "level_id": db.session.scalar(select(Level.id)),
            "badge_id": db.session.scalar(select(Badge.id)),
            "code": b.referral_code, "message_id": msg.id, "doomed_message_id": doomed.id, "b_user_id": b.user_id,
        }
        db.session.remove()
    return ids


# --- measuring ------------------------------------------------------------------------------

def classify(resp) -> object:
    """A response as a table cell."""
    if resp.status_code in (301, 302, 303, 307, 308):
        loc = resp.headers.get("Location", "")
        path = re.sub(r"^https?://[^/]+", "", loc)
        if path.startswith("/login") or path.startswith("/partner/login"):
            return f"{resp.status_code}>login"
        if path.rstrip("/") == "/admin":
            return f"{resp.status_code}>admin"
        if path.startswith("/partner/dashboard"):
            return f"{resp.status_code}>dash"
        return resp.status_code
    return resp.status_code


#: URL argument values by (endpoint, argument) where the argument's name alone is
#: ambiguous; everything else is filled from ``world`` by name.
ARG_OVERRIDES = {
    ("portal.chat_page", "slug"): "dm_slug", ("portal.chat_messages", "slug"): "dm_slug",
    ("portal.chat_search", "slug"): "dm_slug", ("portal.chat_upload", "slug"): "dm_slug",
    ("staff.roles_page", "user_id"): "staff_user_id",
    ("portal.campaign_landing", "slug"): "link_slug",
    ("chat_moderation.delete", "message_id"): "doomed_message_id",
    ("api.api_staff_webhook_delete", "endpoint_id"): "doomed_endpoint_id",
    ("portal.verify_certificate", "code"): "cert_code",
    ("api.api_verify_certificate", "code"): "cert_code",
}
FIXED_ARGS = {"sha": "0123456789ab", "external_id": "crm-lead-1", "external_invoice_id": "no-such-invoice", "fmt": "png", "export_type": "csv", "kind": "reverse", "queue": "payouts",
              "year": 2026,
              "job_id": "no-such-job", "token": "not-a-valid-token"}
STATIC_FILES = {"static": "css/app.css", "admin.static": "admin/js/helpers.js"}


def url_for_rule(rule, ids) -> str:
    url = rule.rule
    for arg in rule.arguments:
        if arg == "filename":
            value = STATIC_FILES[rule.endpoint]
        elif arg in FIXED_ARGS:
            value = FIXED_ARGS[arg]
        else:
            value = ids[ARG_OVERRIDES.get((rule.endpoint, arg), arg)]
        url = re.sub(r"<(?:[\w]+(?:\([^)]*\))?:)?" + arg + ">", str(value), url)
    return url


def route_cases(app, ids) -> list[tuple[str, str, str]]:
    """(key, method, url) for every rule and natural method, then the extra URLs."""
    out = []
    for rule in app.url_map.iter_rules():
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        url = url_for_rule(rule, ids)
        for m in methods:
            out.append((f"{m} {rule.rule}", m, url))
    for key, (method, url_template) in EXTRA_URLS.items():
        out.append((key, method, url_template.format(**ids, **ids["templates"])))
    # session-ending routes last, so they end only the principal's own run
    out.sort(key=lambda c: (c[2] == "/logout", c[0]))
    return out


EXTRA_URLS = {
    "GET /partner/chat/active-lounge": ("GET", "/partner/chat/active-lounge"),
    "GET /partner/chat/performer-hub": ("GET", "/partner/chat/performer-hub"),
    "GET /partner/chat/elite-council": ("GET", "/partner/chat/elite-council"),
    "GET /partner/chat/general": ("GET", "/partner/chat/general"),
    "GET /partner/leads/<own>": ("GET", "/partner/leads/own"),
}
#: Each model view's details page on a real row (B's where the row has an owner): the
#: allowed roles see it (200), the others are refused as on the list.
MODEL_VIEW_ROWS = {
    "audit": "audit_id", "challenges": "challenge_id", "commissions": "commission_id",
    "deals": "deal_id", "leads": "lead_id", "material-renders": "render_id",
    "materials": "template_id", "partners": "partner_id", "payouts": "payout_id",
    "quiz": "quiz_id", "staff": "staff_user_id", "statements": "statement_id",
    "tickets": "ticket_id", "tiers": "tier_id", "training": "module_id",
    "playbooks": "playbook_id", "tax_forms": "form_id", "webhook-endpoints": "endpoint_id",
    "webhook-deliveries": "delivery_id", "landing-pages": "page_id",
    "bonus-pools": "pool_id", "learning-paths": "path_id",
    "xp-rules": "xp_rule_id", "levels": "level_id", "badges": "badge_id",
}
for _prefix, _arg in MODEL_VIEW_ROWS.items():
    EXTRA_URLS[f"GET /admin/{_prefix}/details/?id=<row>"] = (
        "GET", f"/admin/{_prefix}/details/?id={{{_arg}}}")


class Principal:
    """One column: a test client with its session, a CSRF token and an API header."""

    def __init__(self, app, name):
        self.name = name
        self.client = app.test_client()
        self.headers = {}
        self.token = None
        if name == "anon":
            self.csrf = csrf_from(self.client.get("/login").get_data(as_text=True))
            return
        email = f"{name}@example.com"
        assert login(self.client, email).status_code == 302, name
        kind = "staff" if name in STAFF else "partner"
        self.headers = api_token(app.test_client(), email, kind=kind)
        self.token = self.headers["Authorization"][7:]
        self.csrf = csrf_from(self.client.get("/account/password").get_data(as_text=True))

    def hit(self, method, url):
        if url.startswith("/api/"):
            kwargs = {"headers": self.headers}
            if method in ("POST", "PUT"):
                kwargs["json"] = {}
            return self.client.open(url, method=method, **kwargs)
        if method == "GET":
            return self.client.get(url)
        return self.client.open(url, method=method, data={"csrf_token": self.csrf},
                                headers={"X-CSRFToken": self.csrf})


def make_principals(app) -> dict:
    from sqlalchemy import select

    from core.accounts.models import User
    from core.program.models import Partner
    from core.program.partners import suspend_partner

    out = {name: Principal(app, name) for name in PRINCIPALS}
    with app.app_context():
        pid = db.session.scalar(select(Partner.id).join(User, Partner.user_id == User.id)
                                .where(User.email == "suspended@example.com"))
        suspend_partner(pid, make_staff_once().id, "matrix")
        db.session.commit()
        db.session.remove()
    return out


def own_lead(app, email) -> int | None:
    from sqlalchemy import select

    from core.accounts.models import User
    from core.program.leads import create_lead
    from core.program.models import Partner

    with app.app_context():
        p = db.session.scalar(select(Partner).join(User, Partner.user_id == User.id)
                              .where(User.email == email))
        if p is None:
            return None
        lead = create_lead(p, {"company_name": "My own prospect"}, p.user_id)
        db.session.commit()
        return lead.id


def test_every_route_for_every_principal(app, world):
    """Every rule × natural method × principal answers as the table says; no rule is
    left out of the table and the table names no rule that is gone."""
    principals = make_principals(app)
    cases = route_cases(app, world)
    actual: dict[str, dict] = {}
    for name in PRINCIPALS:
        pr = principals[name]
        own = own_lead(app, f"{name}@example.com")
        for key, method, url in cases:
            if key == "GET /partner/leads/<own>":
                url = f"/partner/leads/{own or world['lead_id']}"
            actual.setdefault(key, {})[name] = classify(pr.hit(method, url))
    if os.environ.get("MATRIX_DUMP"):
        with open(os.environ["MATRIX_DUMP"], "w") as f:
            json.dump(actual, f, indent=1, sort_keys=True)
    missing = sorted(set(actual) - set(EXPECTED))
    stale = sorted(set(EXPECTED) - set(actual))
    assert not missing, f"routes the access table does not classify: {missing}"
    assert not stale, f"table rows for routes that no longer exist: {stale}"
    wrong = [(key, name, EXPECTED[key][name], got)
             for key, cells in actual.items() for name, got in cells.items()
             if EXPECTED[key][name] != got]
    assert not wrong, "\n".join(f"{k} as {n}: expected {e}, got {g}" for k, n, e, g in wrong)


# --- Socket.IO ------------------------------------------------------------------------------

#: Event -> payload; ``{general}``-style strings are filled from the world's ids. Each
#: event names B's objects where it takes one (B's message in #general).
EVENT_PAYLOADS = {
    "join": {"channel": "general"}, "leave": {"channel": "general"},
    "history": {"channel": "general"},
    "send": {"channel": "general", "body": "hello from the matrix"},
    "edit": {"id": "message_id", "body": "not yours"},
    "react": {"id": "message_id", "emoji": "👍"},
    "read": {"channel": "general", "last_id": "message_id"},
    "typing": {"channel": "general"}, "heartbeat": {}, "unread": {},
    "search": {"channel": "general", "q": "hello"},
    "delete": {"id": "doomed_message_id"},  # a second message of B's
}
#: Extra (label, event, payload): tier-locked channels and B and C's DM (by id).
EXTRA_EVENT_CASES = {
    "join active-lounge": ("join", {"channel": "active-lounge"}),
    "join performer-hub": ("join", {"channel": "performer-hub"}),
    "join elite-council": ("join", {"channel": "elite-council"}),
    "join B-C direct message": ("join", {"channel": "channel_id"}),
    "history B-C direct message": ("history", {"channel": "channel_id"}),
    "send B-C direct message": ("send", {"channel": "channel_id", "body": "let me in"}),
}


def sock_row(partner, staff) -> dict:
    """Anonymous and suspended sockets are refused at connect; no event reaches them."""
    return row("refused", partner, "refused", staff)


#: ``ok`` or the error code of the acknowledgement.
EXPECTED_EVENTS = {
    "connect": sock_row("ok", "ok"),
    "join": sock_row("ok", "ok"), "leave": sock_row("ok", "ok"),
    "history": sock_row("ok", "ok"), "send": sock_row("ok", "ok"),
    # only the author edits; staff moderate by deleting, not rewriting
    "edit": sock_row("forbidden", "forbidden"),
    "react": sock_row("ok", "ok"), "read": sock_row("ok", "ok"),
    "typing": sock_row("ok", "ok"), "heartbeat": sock_row("ok", "ok"),
    "unread": sock_row("ok", "ok"), "search": sock_row("ok", "ok"),
    # partners cannot delete B's message; moderators (admin, support) can (deleting a
    # deleted message again is a no-op, so support gets ok too); finance and content
    # do not moderate
    "delete": sock_row("forbidden", {"admin": "ok", "finance": "forbidden",
                                     "support": "ok", "content": "forbidden"}),
    "join active-lounge": sock_row(tiers("not_found", "ok", "ok", "ok"), "ok"),
    "join performer-hub": sock_row(tiers("not_found", "not_found", "ok", "ok"), "ok"),
    "join elite-council": sock_row(tiers("not_found", "not_found", "not_found", "ok"), "ok"),
    "join B-C direct message": sock_row("not_found", "not_found"),
    "history B-C direct message": sock_row("not_found", "not_found"),
    "send B-C direct message": sock_row("not_found", "not_found"),
}


def _fill(payload: dict, ids: dict) -> dict:
    return {k: ids[v] if isinstance(v, str) and v in ids else v for k, v in payload.items()}


def test_every_socket_event_for_every_principal(app, live_server, world):
    """Every registered Socket.IO event (and ``connect``) × principal answers as the table
    says, with the principal's bearer token in the connect ``auth``; an event the table
    does not know fails the test."""
    import socketio as sio_client

    from core.base.extensions import socketio

    names = set(socketio.server.handlers["/"]) - {"connect", "disconnect"}
    assert not names - set(EVENT_PAYLOADS), f"events the table does not classify: " \
                                            f"{sorted(names - set(EVENT_PAYLOADS))}"
    assert not set(EVENT_PAYLOADS) - names, "table names events that no longer exist"
    principals = make_principals(app)
    cases = [(e, e, p) for e, p in EVENT_PAYLOADS.items() if e != "delete"]
    cases += [(label, e, p) for label, (e, p) in EXTRA_EVENT_CASES.items()]
    cases.append(("delete", "delete", EVENT_PAYLOADS["delete"]))
    actual: dict[str, dict] = {}
    for name in PRINCIPALS:
        pr = principals[name]
        sio = sio_client.Client(reconnection=False)
        try:  # long-polling: see tests/test_chat.py connect()
            sio.connect(live_server, auth={"token": pr.token} if pr.token else None,
                        transports=["polling"], wait_timeout=5)
            connected = True
        except sio_client.exceptions.ConnectionError:
            connected = False
        actual.setdefault("connect", {})[name] = "ok" if connected else "refused"
        for label, event, payload in cases:
            if not connected:
                actual.setdefault(label, {})[name] = "refused"
                continue
            ack = sio.call(event, _fill(payload, world), timeout=5)
            actual.setdefault(label, {})[name] = "ok" if ack.get("ok") else \
                ack["error"]["code"]
        if connected:
            sio.disconnect()
    assert set(actual) == set(EXPECTED_EVENTS), set(actual) ^ set(EXPECTED_EVENTS)
    wrong = [(label, n, EXPECTED_EVENTS[label][n], got) for label, cells in actual.items()
             for n, got in cells.items() if EXPECTED_EVENTS[label][n] != got]
    assert not wrong, "\n".join(f"{e} as {n}: expected {x}, got {g}" for e, n, x, g in wrong)
