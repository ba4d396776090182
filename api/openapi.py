"""The OpenAPI 3.1 document of ``/api``, served at ``/api/openapi.json``.

Written by hand next to the views it describes; ``tests/test_openapi.py`` checks that
every route is documented and that real responses match their schemas.
"""

from flask import jsonify

from api import api
from core.community.playbooks import INDUSTRIES as PLAYBOOK_INDUSTRIES

_S = "#/components/schemas/"


def _ref(name: str) -> dict:
    return {"$ref": _S + name}


def _list(name: str) -> dict:
    return {"type": "object", "required": ["items", "next_cursor"],
            "properties": {"items": {"type": "array", "items": _ref(name)},
                           "next_cursor": {"type": ["integer", "null"]}}}


def _op(summary: str, ok: int = 200, schema: dict | None = None, body: dict | None = None,
        auth: str | None = "bearer", errors=(400, 401, 403, 404, 409, 422),
        params: list | None = None, content_type: str = "application/json") -> dict:
    op = {"summary": summary, "responses": {}}
    op["responses"][str(ok)] = {"description": "OK", "content": {
        content_type: {"schema": schema or {"type": "object"}}}}
    for code in errors:
        op["responses"][str(code)] = {"$ref": "#/components/responses/Error"}
    # Any call can meet a database outage (web.app's handler, issue 7 "Faults").
    op["responses"]["503"] = {"$ref": "#/components/responses/Unavailable"}
    if body is not None:
        op["requestBody"] = {"required": True,
                             "content": {"application/json": {"schema": body}}}
    if auth:
        op["security"] = [{"bearer": []}]
    else:
        op["security"] = []
    if params:
        op["parameters"] = params
    return op


def _path_id(name: str) -> dict:
    return {"name": name, "in": "path", "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647}}


def _query(name: str, schema: dict) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema}


CENTS = {"type": "integer", "minimum": 0, "maximum": 100_000_000}
STR = {"type": "string"}
NSTR = {"type": ["string", "null"]}
TIME = {"type": "string", "format": "date-time"}
PAGE = [_query("cursor", {"type": "integer", "minimum": 1}),
        _query("limit", {"type": "integer", "minimum": 1, "maximum": 100})]

SCHEMAS = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": STR, "message": STR}}}},
    "Token": {"type": "object", "required": ["token", "expires_at"],
              "properties": {"token": STR, "expires_at": TIME,
                             "roles": {"type": "array", "items": STR}}},
    "Profile": {"type": "object", "required": ["id", "name", "email", "status", "current_tier",
                                               "commission_rate_bps", "referral_code"],
                "properties": {"id": {"type": "integer"}, "name": STR, "email": STR,
                               "status": {"enum": ["applied", "active", "suspended"]},
                               "company_name": STR, "industry": STR, "phone": STR,
                               "referral_code": STR,
                               "recruiter_id": {"type": ["integer", "null"]},
                               "team_leader_id": {"type": ["integer", "null"]},
                               "current_tier": STR, "commission_rate_bps": {"type": "integer"},
                               "won_deals_count": {"type": "integer"},
                               "agreement_version": STR, "timezone": STR,
                               "notify_email": {"type": "boolean"},
                               "notify_portal": {"type": "boolean"},
                               "email_verified": {"type": "boolean"}, "created_at": TIME}},
    "Tier": {"type": "object", "required": ["key", "name", "min_deals", "base_rate_bps"],
             "properties": {"key": STR, "name": STR, "min_deals": {"type": "integer"},
                            "base_rate_bps": {"type": "integer"},
                            "referral_rate_bps": {"type": "integer"},
                            "team_override_bps": {"type": "integer"},
                            "holding_days": {"type": "integer"},
                            "features": {"type": "array", "items": STR}}},
    "TierStatus": {"type": "object",
                   "required": ["current_tier", "next_tier", "deals_done", "deals_needed",
                                "progress_percent", "requirements", "base_rate_bps"],
                   "properties": {"current_tier": _ref("Tier"),
                                  "next_tier": {"oneOf": [_ref("Tier"), {"type": "null"}]},
                                  "deals_done": {"type": "integer"},
                                  "deals_needed": {"type": "integer"},
                                  "progress_percent": {"type": "integer", "minimum": 0,
                                                       "maximum": 100},
                                  "requirements": {"type": "array", "items": {
                                      "type": "object", "required": ["name", "done", "met"]}},
                                  "base_rate_bps": {"type": "integer"},
                                  "effective_reason": STR, "days_in_tier": {"type": "integer"}}},
    "LeadInput": {"type": "object", "properties": {
        "company_name": {"type": "string", "maxLength": 200},
        "contact_name": {"type": "string", "maxLength": 120},
        "contact_email": {"type": "string", "maxLength": 254},
        "contact_phone": {"type": "string", "maxLength": 40},
        "project_type": {"type": "string", "maxLength": 80},
        "next_action": {"type": "string", "maxLength": 200},
        "notes": {"type": "string", "maxLength": 5000},
        "estimated_value_cents": CENTS}},
    "Lead": {"type": "object", "required": ["id", "partner_id", "company_name", "status",
                                            "estimated_value_cents", "created_at"],
             "properties": {"id": {"type": "integer"}, "partner_id": {"type": "integer"},
                            "company_name": STR, "contact_name": STR, "contact_email": STR,
                            "contact_phone": STR, "project_type": STR,
                            "estimated_value_cents": {"type": "integer"},
                            "status": {"enum": ["new", "contacted", "qualified", "proposal",
                                                "won", "lost"]},
                            "deal_value_cents": {"type": ["integer", "null"]},
                            "deal_id": {"type": ["integer", "null"]},
                            "source": STR, "next_action": STR, "created_at": TIME,
                            "updated_at": TIME}},
    "Commission": {"type": "object",
                   "required": ["id", "partner_id", "deal_id", "type", "amount_cents",
                                "rate_bps", "status", "created_at"],
                   "properties": {"id": {"type": "integer"}, "partner_id": {"type": "integer"},
                                  "deal_id": {"type": ["integer", "null"]},
                                  "type": {"enum": ["base", "team_override", "referral",
                                                    "bonus", "adjustment"]},
                                  "amount_cents": {"type": "integer"},
                                  "rate_bps": {"type": ["integer", "null"]},
                                  "status": {"enum": ["pending", "approved", "on_hold", "paid",
                                                      "reversed"]},
                                  "created_at": TIME,
                                  "payout_id": {"type": ["integer", "null"]}, "note": STR}},
    "Figures": {"type": "object", "required": ["opening_cents", "earned_cents",
                                               "reversed_cents", "paid_cents", "closing_cents"],
                "properties": {k: {"type": "integer"} for k in (
                    "opening_cents", "earned_cents", "reversed_cents", "paid_cents",
                    "closing_cents")}},
    "EarningsSummary": {"type": "object",
                        "required": ["this_month", "last_month", "by_type", "pending_cents",
                                     "approved_cents", "balance_cents", "payout_minimum_cents"],
                        "properties": {"this_month": _ref("Figures"), "last_month": _ref("Figures"),
                                       "change_percent": {"type": ["integer", "null"]},
                                       "by_type": {"type": "object",
                                                   "additionalProperties": {"type": "integer"}},
                                       "pending_cents": {"type": "integer"},
                                       "approved_cents": {"type": "integer"},
                                       "on_hold_cents": {"type": "integer"},
                                       "in_payout_cents": {"type": "integer"},
                                       "paid_total_cents": {"type": "integer"},
                                       "balance_cents": {"type": "integer"},
                                       "payout_minimum_cents": {"type": "integer"}}},
    "MonthEarned": {"type": "object", "required": ["year", "month", "label", "earned_cents"],
                    "properties": {"year": {"type": "integer"},
                                   "month": {"type": "integer", "minimum": 1, "maximum": 12},
                                   "label": STR, "earned_cents": {"type": "integer"}}},
    "Payout": {"type": "object", "required": ["id", "partner_id", "amount_cents", "status"],
               "properties": {"id": {"type": "integer"}, "partner_id": {"type": "integer"},
                              "amount_cents": {"type": "integer"},
                              "status": {"enum": ["requested", "approved", "processing", "paid",
                                                  "failed", "reversed"]},
                              "gateway": {"enum": ["manual", "stripe"]}, "reference": STR,
                              "failure_message": STR, "created_at": TIME}},
    "Statement": {"type": "object", "required": ["id", "partner_id", "period", "version",
                                                 "status", "closing_cents"],
                  "properties": {"id": {"type": "integer"}, "partner_id": {"type": "integer"},
                                 "period": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"},
                                 "version": {"type": "integer"},
                                 "status": {"enum": ["pending", "ready", "failed"]},
                                 "opening_cents": {"type": "integer"},
                                 "earned_cents": {"type": "integer"},
                                 "reversed_cents": {"type": "integer"},
                                 "paid_cents": {"type": "integer"},
                                 "closing_cents": {"type": "integer"},
                                 "download_url": NSTR}},
    "Channel": {"type": "object", "required": ["id", "slug", "name", "read_only"],
                "properties": {"id": {"type": "integer"}, "slug": STR, "name": STR,
                               "topic": STR, "read_only": {"type": "boolean"},
                               "min_tier": NSTR}},
    "Message": {"type": "object", "required": ["id", "channel_id", "author", "body",
                                               "created_at"],
                "properties": {"id": {"type": "integer"}, "channel_id": {"type": "integer"},
                               "user_id": {"type": "integer"}, "author": STR, "body": STR,
                               "deleted": {"type": "boolean"}, "created_at": TIME}},
    "TrainingModule": {"type": "object",
                       "required": ["id", "title", "channel", "unlocked", "completed"],
                       "properties": {"id": {"type": "integer"}, "slug": STR, "title": STR,
                                      "channel": STR, "required": {"type": "boolean"},
                                      "min_tier": NSTR, "unlocked": {"type": "boolean"},
                                      "completed": {"type": "boolean"},
                                      "score_percent": {"type": ["integer", "null"]},
                                      "questions": {"type": "integer"},
                                      "pass_mark_percent": {"type": "integer"}}},
    "QuizResult": {"type": "object", "required": ["passed", "score_percent", "pass_mark_percent"],
                   "properties": {"passed": {"type": "boolean"},
                                  "score_percent": {"type": ["integer", "null"]},
                                  "pass_mark_percent": {"type": "integer"},
                                  "correct": {"type": "integer"}, "total": {"type": "integer"}}},
    "LeaderboardRow": {"type": "object", "required": ["rank", "partner_id", "name", "deals"],
                       "properties": {"rank": {"type": "integer"}, "partner_id": {"type": "integer"},
                                      "name": STR, "tier": STR, "deals": {"type": "integer"},
                                      "revenue_cents": {"type": ["integer", "null"]},
                                      "badges": {"type": "array", "items": STR,
                                                 "description": "Achievement keys held "
                                                                "(tier badges left out)"}}},
    "Challenge": {"type": "object", "required": ["id", "name", "metric", "target", "progress"],
                  "properties": {"id": {"type": "integer"}, "name": STR, "description": STR,
                                 "metric": {"enum": ["deals", "revenue"]},
                                 "target": {"type": "integer"}, "prize_cents": {"type": "integer"},
                                 "starts_at": TIME, "ends_at": TIME,
                                 "progress": {"type": "integer"}}},
    "Achievement": {"type": "object",
                    "required": ["key", "name", "condition", "icon", "earned", "awarded_at",
                                 "progress", "closes_at"],
                    "properties": {
                        "key": {"type": "string", "description":
                                "first_sale, quick_starter, team_builder, top_performer, "
                                "first_month or tier_<tier key>"},
                        "name": STR, "condition": {"type": "string", "description":
                                                   "What earns the badge"},
                        "icon": STR, "earned": {"type": "boolean"},
                        "awarded_at": {"type": ["string", "null"], "format": "date-time"},
                        "progress": {"oneOf": [{"type": "null"}, {
                            "type": "object", "required": ["done", "target"],
                            "properties": {"done": {"type": "integer", "minimum": 0},
                                           "target": {"type": "integer", "minimum": 0}}}]},
                        "closes_at": {"type": ["string", "null"], "format": "date-time",
                                      "description": "End of Quick Starter's window"}}},
    "Team": {"type": "object",
             "required": ["chat", "leads_team", "unlock", "leader", "members",
                          "override_total_cents", "referral_code"],
             "properties": {
                 "chat": {"type": "object", "required": ["slug", "name", "kind"],
                          "properties": {"slug": STR, "name": STR,
                                         "kind": {"enum": ["public", "team"]}}},
                 "leads_team": {"type": "boolean"},
                 "unlock": {"oneOf": [{"type": "null"}, {
                     "type": "object", "required": ["tier", "min_deals", "deals_needed"],
                     "properties": {"tier": STR, "min_deals": {"type": "integer"},
                                    "deals_needed": {"type": "integer"}}}]},
                 "leader": {"oneOf": [{"type": "null"}, {
                     "type": "object", "required": ["name"], "properties": {"name": STR}}]},
                 "override_rate_bps": {"type": "integer"},
                 "members": {"type": "array", "items": {
                     "type": "object",
                     "required": ["partner_id", "name", "tier", "deals", "override_cents"],
                     "properties": {"partner_id": {"type": "integer"}, "name": STR,
                                    "tier": STR, "status": STR,
                                    "deals": {"type": "integer"},
                                    "override_cents": {"type": "integer"}}}},
                 "override_total_cents": {"type": "integer"},
                 "referral_code": STR}},
    "Resource": {"type": "object",
                 "required": ["id", "title", "category", "min_tier", "unlocks_at", "unlocked",
                              "co_brandable", "file_kind", "size_bytes", "download_url"],
                 "properties": {"id": {"type": "integer"}, "title": STR,
                                "category": {"enum": ["brochure", "presentation",
                                                      "case_study", "social", "video",
                                                      "template", "other"]},
                                "description": STR, "min_tier": STR,
                                "unlocks_at": {"type": "string",
                                               "description": "Name of the tier that unlocks it"},
                                "unlocked": {"type": "boolean"},
                                "co_brandable": {"type": "boolean", "description":
                                                 "A co-branded version can be requested "
                                                 "on /partner/materials"},
                                "file_kind": {"enum": ["pdf", "png", "jpeg", "mp4", "html"]},
                                "size_bytes": {"type": "integer"},
                                "download_count": {"type": "integer"},
                                "created_at": TIME,
                                "download_url": {"type": ["string", "null"], "description":
                                                 "null while tier-locked"}}},
    "Playbook": {"type": "object",
                 "required": ["id", "title", "industry", "kind", "status", "author", "own",
                              "upvote_count", "upvoted", "excerpt", "published_at",
                              "created_at", "updated_at"],
                 "properties": {"id": {"type": "integer"}, "title": STR,
                                "industry": {"enum": list(PLAYBOOK_INDUSTRIES)},
                                "kind": {"enum": ["script", "playbook"]},
                                "status": {"enum": ["draft", "submitted", "published",
                                                    "rejected"]},
                                "author": {"type": "string", "description":
                                           "The partner's name, or \"SISO team\""},
                                "own": {"type": "boolean", "description": "You wrote it"},
                                "upvote_count": {"type": "integer", "minimum": 0},
                                "upvoted": {"type": "boolean", "description":
                                            "You upvoted it"},
                                "excerpt": {"type": "string", "description":
                                            "The start of the body as plain text"},
                                "published_at": {"type": ["string", "null"],
                                                 "format": "date-time"},
                                "created_at": TIME, "updated_at": TIME,
                                "body": {"type": "string", "description":
                                         "Markdown (detail and submit only)"},
                                "body_html": {"type": "string", "description":
                                              "The body as sanitised HTML (detail and "
                                              "submit only)"},
                                "review_note": {"type": "string", "description":
                                                "The reviewer's note (your own only)"},
                                "reviewed_at": {"type": ["string", "null"],
                                                "format": "date-time"}}},
    "PlaybookInput": {"type": "object", "required": ["title", "industry", "kind", "body"],
                      "properties": {
                          "title": {"type": "string", "minLength": 5, "maxLength": 120},
                          "industry": {"enum": list(PLAYBOOK_INDUSTRIES)},
                          "kind": {"enum": ["script", "playbook"]},
                          "body": {"type": "string", "minLength": 50, "maxLength": 20000,
                                   "description": "Markdown"}}},
    "Upvote": {"type": "object", "required": ["id", "upvoted", "upvote_count"],
               "properties": {"id": {"type": "integer"}, "upvoted": {"type": "boolean"},
                              "upvote_count": {"type": "integer", "minimum": 0}}},
    "ApiKey": {"type": "object", "required": ["id", "name", "roles", "created_at"],
               "properties": {"id": {"type": "integer"}, "name": STR, "key": STR,
                              "roles": {"type": "array", "items": STR},
                              "created_at": TIME, "expires_at": TIME,
                              "revoked_at": {"type": ["string", "null"]},
                              "last_used_at": {"type": ["string", "null"]}}},
}

LOGIN = {"type": "object", "required": ["email", "password"],
         "properties": {"email": STR, "password": STR}}
STAFF_LOGIN = {"type": "object", "required": ["email", "password"],
               "properties": {"email": STR, "password": STR,
                              "otp": {"type": "string", "description":
                                      "6-digit TOTP code (staff with two-factor)"}}}


def _upvote_op() -> dict:
    op = _op("Upvote a published playbook ({\"upvoted\": true}), take it back (false), or "
             "toggle (empty body); once per partner, never your own (403 own_playbook)", 200,
             _ref("Upvote"), {"type": "object",
                              "properties": {"upvoted": {"type": ["boolean", "null"]}}},
             params=[_path_id("playbook_id")])
    op["requestBody"]["required"] = False
    return op


def document() -> dict:
    """Return the OpenAPI document as a dict."""
    lead_id, partner_id = [_path_id("lead_id")], [_path_id("partner_id")]
    paths = {
        "/api/auth/partner/register": {"post": _op(
            "Apply as a partner (status applied until staff approve). The answer is the "
            "same whether or not the address has an account; log in next", 202,
            {"type": "object", "required": ["status", "message"],
             "properties": {"status": {"const": "check_email"}, "message": STR}},
            {"type": "object", "required": ["email", "password", "name", "accept_terms"],
             "properties": {"email": STR, "password": {"type": "string", "minLength": 10,
                                                       "maxLength": 200},
                            "name": {"type": "string", "maxLength": 120},
                            "accept_terms": {"const": True}, "referral_code": NSTR,
                            "company_name": {"type": "string", "maxLength": 200}}},
            auth=None, errors=(400, 422, 429))},
        "/api/auth/partner/login": {"post": _op("Partner login → bearer token", 200,
                                                _ref("Token"), LOGIN, None, (400, 401, 429))},
        "/api/auth/staff/login": {"post": _op("Staff login → bearer token", 200, _ref("Token"),
                                              STAFF_LOGIN, None, (400, 401, 403, 429))},
        "/api/partner/profile": {
            "get": _op("The partner's profile", 200, _ref("Profile"), errors=(401, 403)),
            "put": _op("Update your own name, company, phone, industry, time zone and contact "
                       "preferences; tier, rates, status and ids are refused (422)", 200,
                       _ref("Profile"),
                       {"type": "object", "additionalProperties": False, "properties": {
                           "name": {"type": "string", "minLength": 1, "maxLength": 120},
                           "company_name": {"type": "string", "maxLength": 200},
                           "phone": {"type": "string", "maxLength": 40,
                                     "pattern": "^[0-9+()./\\- ]*$"},
                           "industry": {"type": "string", "maxLength": 80},
                           "timezone": {"type": "string", "maxLength": 64,
                                        "description": "IANA name, e.g. Europe/London"},
                           "notify_email": {"type": "boolean"},
                           "notify_portal": {"type": "boolean"}}},
                       errors=(400, 401, 403, 422))},
        "/api/partner/tier-status": {"get": _op("Tier progression", 200, _ref("TierStatus"),
                                                errors=(401, 403))},
        "/api/partner/achievements": {"get": _op(
            "Achievement badges, earned and not yet earned, with their conditions and your "
            "progress", 200,
            {"type": "object", "required": ["items", "earned", "next_cursor"],
             "properties": {"items": {"type": "array", "items": _ref("Achievement")},
                            "earned": {"type": "integer", "minimum": 0},
                            "next_cursor": {"type": "null"}}}, errors=(401, 403))},
        "/api/partner/team": {"get": _op(
            "Team chat entry point; members, their deals and your override (Performer+)",
            200, _ref("Team"), errors=(401, 403))},
        "/api/partner/leads": {
            "get": _op("The partner's leads, newest first", 200, _list("Lead"),
                       errors=(401, 403, 422), params=PAGE + [_query("status", STR)]),
            "post": _op("Log a lead", 201, _ref("Lead"), _ref("LeadInput"))},
        "/api/partner/leads/{lead_id}": {
            "get": _op("One lead", 200, _ref("Lead"), errors=(401, 403, 404), params=lead_id),
            "put": _op("Edit a lead's details", 200, _ref("Lead"), _ref("LeadInput"),
                       params=lead_id)},
        "/api/partner/leads/{lead_id}/move": {"post": _op(
            "Move a lead; won needs deal_value_cents", 200, _ref("Lead"),
            {"type": "object", "required": ["status"],
             "properties": {"status": STR, "deal_value_cents": CENTS}}, params=lead_id)},
        "/api/partner/leads/{lead_id}/activity": {"post": _op(
            "Log a call, e-mail, meeting or note", 201, {"type": "object"},
            {"type": "object", "required": ["activity_type"],
             "properties": {"activity_type": {"enum": ["call", "email", "meeting", "note"]},
                            "notes": {"type": "string", "maxLength": 5000}}}, params=lead_id)},
        "/api/partner/commissions": {"get": _op(
            "The partner's commissions", 200, _list("Commission"), errors=(401, 403, 422),
            params=PAGE + [_query("status", STR), _query("type", STR)])},
        "/api/partner/earnings/summary": {"get": _op("Earnings overview (cents)", 200,
                                                     _ref("EarningsSummary"), errors=(401, 403))},
        "/api/partner/earnings/chart": {"get": _op(
            "Earned per month, the last 12 months, oldest first", 200, _list("MonthEarned"),
            errors=(401, 403))},
        "/api/partner/payout/request": {"post": _op(
            "Request a payout of the approved balance (403 email_unverified until the "
            "partner's e-mail address is verified)", 201, _ref("Payout"))},
        "/api/partner/statements": {"get": _op("The partner's statements", 200,
                                               _list("Statement"), errors=(401, 403))},
        "/api/partner/training/modules": {"get": _op(
            "Training modules with lock, completion and score", 200, _list("TrainingModule"),
            errors=(401, 403))},
        "/api/partner/training/progress": {"get": _op(
            "Training progress", 200, {"type": "object", "required": ["completed", "total"],
                                       "properties": {k: {"type": "integer"} for k in (
                                           "completed", "total", "required_completed",
                                           "required_total", "percent")}}, errors=(401, 403))},
        "/api/partner/training/complete": {"post": _op(
            "Complete a module without a quiz", 200, _ref("QuizResult"),
            {"type": "object", "required": ["module_id"],
             "properties": {"module_id": {"type": "integer"}}})},
        "/api/partner/training/quiz/submit": {"post": _op(
            "Submit a module's quiz", 200, _ref("QuizResult"),
            {"type": "object", "required": ["module_id", "answers"],
             "properties": {"module_id": {"type": "integer"},
                            "answers": {"type": "object",
                                        "additionalProperties": {"type": "integer"}}}})},
        "/api/partner/resources": {"get": _op(
            "Active marketing assets, newest first by category, with their lock state",
            200, _list("Resource"), errors=(401, 403))},
        "/api/partner/resources/{asset_id}/download": {"get": _op(
            "Download an asset (counted). 403 tier_locked names the tier that unlocks it; "
            "404 for unknown or inactive assets", 200,
            {"type": "string", "format": "binary"}, errors=(401, 403, 404),
            params=[_path_id("asset_id")], content_type="application/octet-stream")},
        "/api/partner/playbooks": {
            "get": _op("Published playbooks, searched (every word in the title or body, "
                       "case-insensitive), filtered and sorted; next_cursor is the offset "
                       "of the next page", 200,
                       {"type": "object", "required": ["items", "total", "next_cursor"],
                        "properties": {"items": {"type": "array", "items": _ref("Playbook")},
                                       "total": {"type": "integer", "minimum": 0},
                                       "next_cursor": {"type": ["integer", "null"]}}},
                       errors=(401, 403, 422),
                       params=[_query("q", {"type": "string", "maxLength": 100}),
                               _query("industry", {"enum": list(PLAYBOOK_INDUSTRIES)}),
                               _query("kind", {"enum": ["script", "playbook"]}),
                               _query("sort", {"enum": ["top", "new"]}),
                               _query("cursor", {"type": "integer", "minimum": 0}),
                               _query("limit", {"type": "integer", "minimum": 1,
                                                "maximum": 100})]),
            "post": _op("Share a playbook: it waits for staff review (409 too_many_pending "
                        "while 5 of yours wait)", 201, _ref("Playbook"),
                        _ref("PlaybookInput"))},
        "/api/partner/playbooks/submissions": {"get": _op(
            "Your own playbooks, newest first, with status and the reviewer's note", 200,
            _list("Playbook"), errors=(401, 403))},
        "/api/partner/playbooks/{playbook_id}": {"get": _op(
            "One playbook with its body; 404 when unpublished and not yours", 200,
            _ref("Playbook"), errors=(401, 403, 404), params=[_path_id("playbook_id")])},
        "/api/partner/playbooks/{playbook_id}/upvote": {"post": _upvote_op()},
        "/api/leaderboard": {"get": _op(
            "Top 10 and your rank", 200,
            {"type": "object", "required": ["items", "me", "period", "metric"],
             "properties": {"items": {"type": "array", "items": _ref("LeaderboardRow")},
                            "me": {"oneOf": [_ref("LeaderboardRow"), {"type": "null"}]},
                            "period": STR, "metric": STR,
                            "next_cursor": {"type": "null"}}},
            errors=(401, 403, 422),
            params=[_query("period", {"enum": ["month", "all"]}),
                    _query("metric", {"enum": ["deals", "revenue"]}), _query("tier", STR)])},
        "/api/leaderboard/challenges": {"get": _op(
            "Active challenges with your progress", 200, _list("Challenge"), errors=(401, 403))},
        "/api/chat/channels": {"get": _op("Channels the user can read", 200, _list("Channel"),
                                          errors=(401, 403))},
        "/api/chat/{channel_id}/messages": {
            "get": _op("Newest 50 messages; older with ?before=", 200, _list("Message"),
                       errors=(401, 403, 404, 422),
                       params=[_path_id("channel_id"), _query("before", {"type": "integer"})]),
            "post": _op("Send a message (1–2,000 characters)", 201, _ref("Message"),
                        {"type": "object", "required": ["body"],
                         "properties": {"body": {"type": "string", "maxLength": 2000}}},
                        params=[_path_id("channel_id")])},
        "/api/staff/partners/{partner_id}/approve": {"post": _op(
            "Approve an application (admin role; support is refused with 403)", 200,
            _ref("Profile"), params=partner_id)},
        "/api/staff/partners/{partner_id}/balance": {"get": _op(
            "A partner's balance", 200, _ref("EarningsSummary"), params=partner_id)},
        "/api/staff/partners/{partner_id}/team": {"put": _op(
            "Set team leader and recruiter (loops refused)", 200, _ref("Profile"),
            {"type": "object", "required": ["team_leader_id", "recruiter_id"],
             "properties": {"team_leader_id": {"type": ["integer", "null"]},
                            "recruiter_id": {"type": ["integer", "null"]}}}, params=partner_id)},
        "/api/staff/partners/{partner_id}/tier-override": {"post": _op(
            "Override tier and/or base rate; both null clears", 200, {"type": "object"},
            {"type": "object", "required": ["reason"],
             "properties": {"tier": NSTR, "base_rate_bps": {"type": ["integer", "null"]},
                            "reason": STR, "expires_at": NSTR}}, params=partner_id)},
        "/api/staff/partners/{partner_id}/bonus": {"post": _op(
            "Add a bonus commission", 201, _ref("Commission"),
            {"type": "object", "required": ["amount_cents", "note"],
             "properties": {"amount_cents": CENTS, "note": STR}}, params=partner_id)},
        "/api/staff/leads/{lead_id}/confirm": {"post": _op(
            "Confirm a won lead: the deal and its commissions", 201,
            {"type": "object", "required": ["deal", "commissions"],
             "properties": {"deal": {"type": "object"},
                            "commissions": {"type": "array", "items": _ref("Commission")}}},
            {"type": "object", "properties": {"deal_value_cents": CENTS}}, params=lead_id)},
        "/api/staff/deals/confirm": {"post": _op(
            "Confirm up to 500 won leads in one transaction (all or nothing)", 201,
            {"type": "object", "required": ["deals"], "properties": {"deals": {
                "type": "array", "items": {
                    "type": "object", "required": ["deal", "commissions"],
                    "properties": {"deal": {"type": "object"}, "commissions": {
                        "type": "array", "items": _ref("Commission")}}}}}},
            {"type": "object", "required": ["leads"], "properties": {"leads": {
                "type": "array", "minItems": 1, "maxItems": 500, "items": {
                    "type": "object", "required": ["lead_id"],
                    "additionalProperties": False,
                    "properties": {"lead_id": {"type": "integer"},
                                   "deal_value_cents": CENTS}}}}})},
        "/api/staff/deals/{deal_id}/cancel": {"post": _op(
            "Cancel or refund a deal", 200,
            {"type": "object", "properties": {"adjustments": {
                "type": "array", "items": _ref("Commission")}}},
            {"type": "object", "required": ["reason"],
             "properties": {"reason": STR, "refunded": {"type": "boolean"}}},
            params=[_path_id("deal_id")])},
        "/api/staff/commissions/approve": {"post": _op(
            "Approve commissions now", 200, _list("Commission"),
            {"type": "object", "required": ["ids"],
             "properties": {"ids": {"type": "array", "items": {"type": "integer"},
                                    "minItems": 1, "maxItems": 1000}}})},
        "/api/staff/commissions/{commission_id}/hold": {"post": _op(
            "Put a commission on hold with a reason", 200, _ref("Commission"),
            {"type": "object", "required": ["reason"], "properties": {"reason": STR}},
            params=[_path_id("commission_id")])},
        "/api/staff/payouts": {"post": _op(
            "Make a payout of a partner's approved balance", 201, _ref("Payout"),
            {"type": "object", "required": ["partner_id"],
             "properties": {"partner_id": {"type": "integer"}}})},
        "/api/staff/payouts/batch": {"post": _op("Payouts for everyone over the minimum", 201,
                                                 _list("Payout"))},
        "/api/staff/payouts/{payout_id}/approve": {"post": _op(
            "Approve a payout (finance)", 200, _ref("Payout"), params=[_path_id("payout_id")])},
        "/api/staff/statements": {"post": _op(
            "Issue a statement (rendered by a worker)", 202, _ref("Statement"),
            {"type": "object", "required": ["partner_id", "period"],
             "properties": {"partner_id": {"type": "integer"}, "period": STR}})},
        "/api/staff/statements/{statement_id}": {"get": _op(
            "One statement", 200, _ref("Statement"), params=[_path_id("statement_id")])},
        "/api/staff/exports/ledger.csv": {"get": _op(
            "Commissions and payouts of a date range as CSV", 200, {"type": "string"},
            params=[_query("from", STR), _query("to", STR)], content_type="text/csv")},
        "/api/staff/api-keys": {
            "get": _op("Your API keys", 200, _list("ApiKey")),
            "post": _op("Create an API key (shown once)", 201, _ref("ApiKey"),
                        {"type": "object", "required": ["name", "roles"],
                         "properties": {"name": STR, "roles": {"type": "array",
                                                               "items": STR}}})},
        "/api/staff/api-keys/{key_id}": {"delete": _op("Revoke an API key", 200, _ref("ApiKey"),
                                                       params=[_path_id("key_id")])},
        "/api/openapi.json": {"get": _op("This document", 200, {"type": "object"}, auth=None,
                                         errors=())},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "SISO Partners API", "version": "1.0",
                 "description": "Money in integer cents, rates in basis points, times UTC. "
                                "Errors are {\"error\": {\"code\", \"message\"}}; lists are "
                                "{\"items\", \"next_cursor\"}."},
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "responses": {
                "Error": {"description": "A refusal a person can read", "content": {
                    "application/json": {"schema": _ref("Error")}}},
                "Unavailable": {
                    "description": "The database is unreachable: nothing was done; try again "
                                   "after Retry-After seconds (code database_unavailable)",
                    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                    "content": {"application/json": {"schema": _ref("Error")}}},
            },
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


@api.get("/openapi.json")
def openapi_json():
    """The OpenAPI document."""
    return jsonify(document())
