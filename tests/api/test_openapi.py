"""The OpenAPI document says what the server does: every route, and real responses."""

import re

import pytest
from conftest import api_token, make_partner, make_staff
from jsonschema import Draft202012Validator

from api.openapi import document


def validate(doc, schema, instance):
    """Validate ``instance`` against ``schema`` with the document's components in scope."""
    root = {"components": doc["components"], **schema}
    Draft202012Validator(root).validate(instance)


def response_schema(doc, path, method, status):
    op = doc["paths"][path][method]
    resp = op["responses"][str(status)]
    if "$ref" in resp:
        resp = doc["components"]["responses"]["Error"]
    return next(iter(resp["content"].values()))["schema"]


def test_every_api_route_is_documented(app):
    """The document lists exactly the /api routes and methods the app serves."""
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            path = re.sub(r"<(?:int:)?([a-z_]+)>", r"{\1}", rule.rule)
            for m in rule.methods - {"HEAD", "OPTIONS"}:
                served.add((path, m.lower()))
    documented = {(p, m) for p, ops in document()["paths"].items() for m in ops}
    assert served == documented


def test_served_document_is_valid_json(client):
    """/api/openapi.json answers the document, OpenAPI 3.1."""
    body = client.get("/api/openapi.json").get_json()
    assert body["openapi"].startswith("3.1") and "/api/partner/leads" in body["paths"]


@pytest.fixture
def tokens(app, client):
    with app.app_context():
        make_partner("Sarah Thompson", email="sarah@example.com")
        make_staff("fin@example.com", ("admin", "finance"))
    return api_token(client, "sarah@example.com"), api_token(client, "fin@example.com",
                                                               kind="staff")


def test_responses_match_the_document(app, client, tokens):
    """A partner's and a staff member's day through the API: each response, successes and
    refusals alike, matches the schema documented for its path, method and status."""
    doc = document()
    ph, sh = tokens
    checked = []

    def call(method, url, path, headers, **kw):
        resp = getattr(client, method)(url, headers=headers, **kw)
        validate(doc, response_schema(doc, path, method, resp.status_code), resp.get_json())
        checked.append((path, method, resp.status_code))
        return resp

    call("get", "/api/partner/profile", "/api/partner/profile", ph)
    call("get", "/api/partner/tier-status", "/api/partner/tier-status", ph)
    call("get", "/api/partner/team", "/api/partner/team", ph)
    call("get", "/api/partner/achievements", "/api/partner/achievements", ph)
    call("put", "/api/partner/profile", "/api/partner/profile", ph,
         json={"timezone": "Europe/Paris", "notify_email": False, "phone": "+33 1 23 45 67 89"})
    call("put", "/api/partner/profile", "/api/partner/profile", ph, json={"tier": "elite"})
    call("get", "/api/partner/earnings/chart", "/api/partner/earnings/chart", ph)
    lead = call("post", "/api/partner/leads", "/api/partner/leads", ph,
                json={"company_name": "TechCorp", "estimated_value_cents": 250000}).get_json()
    call("post", "/api/partner/leads", "/api/partner/leads", ph, json={"company_name": ""})
    call("get", "/api/partner/leads?limit=1", "/api/partner/leads", ph)
    call("get", "/api/partner/leads/999999", "/api/partner/leads/{lead_id}", ph)
    call("post", f"/api/partner/leads/{lead['id']}/move", "/api/partner/leads/{lead_id}/move", ph,
         json={"status": "won", "deal_value_cents": 150000})
    call("post", f"/api/staff/leads/{lead['id']}/confirm", "/api/staff/leads/{lead_id}/confirm",
         sh, json={})
    call("post", f"/api/staff/leads/{lead['id']}/confirm", "/api/staff/leads/{lead_id}/confirm",
         sh, json={})
    call("get", "/api/partner/commissions", "/api/partner/commissions", ph)
    earned = call("get", "/api/partner/achievements", "/api/partner/achievements",
                  ph).get_json()
    assert earned["earned"] == 1  # First Sale, from the confirmation above
    call("get", "/api/leaderboard", "/api/leaderboard", ph)
    call("get", "/api/partner/earnings/summary", "/api/partner/earnings/summary", ph)
    call("post", "/api/partner/payout/request", "/api/partner/payout/request", ph)
    channels = call("get", "/api/chat/channels", "/api/chat/channels", ph).get_json()["items"]
    cid = channels[0]["id"]
    call("post", f"/api/chat/{cid}/messages", "/api/chat/{channel_id}/messages", ph,
         json={"body": "hello"})
    call("get", f"/api/chat/{cid}/messages", "/api/chat/{channel_id}/messages", ph)
    call("get", "/api/partner/statements", "/api/partner/statements", ph)
    mods = call("get", "/api/partner/training/modules", "/api/partner/training/modules",
                ph).get_json()["items"]
    call("get", "/api/partner/training/progress", "/api/partner/training/progress", ph)
    call("post", "/api/partner/training/quiz/submit", "/api/partner/training/quiz/submit", ph,
         json={"module_id": mods[0]["id"], "answers": {}})
    call("post", "/api/partner/training/complete", "/api/partner/training/complete", ph,
         json={"module_id": mods[-1]["id"]})
    call("get", "/api/leaderboard/challenges", "/api/leaderboard/challenges", ph)
    pb = call("post", "/api/partner/playbooks", "/api/partner/playbooks", ph, json={
        "title": "Cold-call opener for gyms", "industry": "Any industry", "kind": "script",
        "body": "Ask how many trial members stay after the first month, then listen."}).get_json()
    call("post", "/api/partner/playbooks", "/api/partner/playbooks", ph, json={"title": "x"})
    call("get", "/api/partner/playbooks?q=gyms&sort=new", "/api/partner/playbooks", ph)
    call("get", "/api/partner/playbooks/submissions", "/api/partner/playbooks/submissions", ph)
    call("get", f"/api/partner/playbooks/{pb['id']}", "/api/partner/playbooks/{playbook_id}",
         ph)
    call("post", f"/api/partner/playbooks/{pb['id']}/upvote",
         "/api/partner/playbooks/{playbook_id}/upvote", ph)  # own: 403
    call("get", "/api/partner/playbooks/999999", "/api/partner/playbooks/{playbook_id}", ph)
    call("post", "/api/staff/api-keys", "/api/staff/api-keys", sh,
         json={"name": "crm", "roles": ["finance"]})
    call("get", "/api/staff/api-keys", "/api/staff/api-keys", sh)
    call("post", "/api/staff/payouts/batch", "/api/staff/payouts/batch", sh)
    assert {s for _, _, s in checked} >= {200, 201, 404, 409, 422}
