"""The API's schemas (core/*/schemas.py, api/spec.py): one model checks the request,
shapes the answer and writes the document, so the three agree. The refusals schemathesis
found before the schemas, each answered as documented now, and the wording people read."""

import pytest
from conftest import PASSWORD, api_token, make_partner, make_staff

from core.base.schemas import SchemaError, explain
from core.program.schemas import LeadQuery


@pytest.fixture
def partner(app, client):
    with app.app_context():
        make_partner("Sam Schema", email="sam@example.com", deals=1)
    return api_token(client, "sam@example.com")


def error_of(resp, status: int) -> str:
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True)[:300])
    body = resp.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    return body["error"]["message"]


def test_what_schemathesis_found_is_refused_as_documented(app, client, partner):
    """A dict as a playbook's kind was a 500; limit=101 was accepted on commissions
    while the document said 100; a null deal value moved a lead; a number was accepted
    as a company name. Each is a 422 naming the field now, and the document agrees."""
    doc = client.get("/api/openapi.json").get_json()
    good = {"title": "Cold-call opener for gyms", "industry": "Any industry",
            "kind": "script", "body": "Ask how many trial members stay after the first "
                                      "month, then listen and take notes."}
    assert "kind" in error_of(client.post("/api/partner/playbooks", headers=partner,
                                          json={**good, "kind": {}}), 422)
    assert error_of(client.get("/api/partner/commissions?limit=101", headers=partner),
                    422) == "limit must be at most 100."
    limit = next(p for p in doc["paths"]["/api/partner/commissions"]["get"]["parameters"]
                 if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 100
    lead = client.post("/api/partner/leads", headers=partner,
                       json={"company_name": "Acme"}).get_json()
    for status in ("won", "lost"):
        assert "deal_value_cents" in error_of(client.post(
            f"/api/partner/leads/{lead['id']}/move", headers=partner,
            json={"status": status, "deal_value_cents": None}), 422)
    for company in (0, False, None, ["Acme"]):
        assert "company_name" in error_of(client.post("/api/auth/partner/register", json={
            "email": "new@example.com", "password": PASSWORD, "name": "New Person",
            "accept_terms": True, "company_name": company}), 422)


def test_bodies_are_strict_json_types(app, client, partner):
    """No coercion: "1", true and 1.0 are not the whole number 1, "true" is not true."""
    for value in ("1", True, 1.0):
        assert error_of(client.post("/api/partner/leads", headers=partner, json={
            "company_name": "Acme", "estimated_value_cents": value}), 422) == \
            "estimated_value_cents must be a whole number of cents, e.g. 150000 for $1,500."
    assert error_of(client.put("/api/partner/profile", headers=partner,
                               json={"notify_email": "true"}), 422) == \
        "notify_email must be true or false."


def test_query_parameters_are_read_by_their_schema(app, client, partner):
    """Digits only for whole numbers; a repeated parameter is not one value."""
    for query, message in (("limit=1.0", "limit must be a whole number."),
                           ("limit=1_0", "limit must be a whole number."),
                           ("limit=5&limit=6", "limit must be a whole number."),
                           ("cursor=0", "cursor must be at least 1."),
                           ("status=closed", "status must be one of: new, contacted, "
                                             "qualified, proposal, won, lost.")):
        assert error_of(client.get(f"/api/partner/leads?{query}", headers=partner),
                        422) == message, query
    assert client.get("/api/partner/leads?limit=+5", headers=partner).status_code == 422
    assert client.get("/api/partner/leads?limit=5", headers=partner).status_code == 200


def test_unknown_keys_are_refused_or_ignored_as_before(app, client, partner):
    """The profile and a lead's edit name the keys they refuse; a new lead and an
    application ignore what they do not take."""
    assert error_of(client.put("/api/partner/profile", headers=partner,
                               json={"tier": "elite", "status": "active"}), 422) == \
        "These fields cannot be changed here: status, tier."
    assert client.post("/api/partner/leads", headers=partner,
                       json={"company_name": "Acme", "status": "won"}).status_code == 201


def test_a_refusal_names_the_field_where_it_is(app):
    """Nested fields are named by their path; limits in cents read as dollars."""
    from core.money.schemas import ConfirmItem, NewBonus

    def said(model, body):
        with pytest.raises(SchemaError) as caught:
            model.model_validate(body)
        return explain(model, caught.value)

    assert said(NewBonus, {"amount_cents": 10**9, "note": "x"}) == \
        "amount_cents must be at most $1,000,000."
    assert said(NewBonus, {"amount_cents": 5}) == "note is required."
    assert said(ConfirmItem, {"lead_id": 1, "deal_value_cents": 0}) == \
        "deal_value_cents must be more than zero."
    assert said(LeadQuery, {"limit": "101"}) == "limit must be at most 100."


def test_staff_refusals_come_before_the_body_is_read(app, client):
    """A role check (403) and a missing row (404) answer before a bad body (422)."""
    with app.app_context():
        make_staff("support@example.com", ("support",))
    support = api_token(client, "support@example.com", kind="staff")
    assert "finance" in error_of(client.post("/api/staff/payouts", headers=support,
                                             json={"partner_id": "x"}), 403)
    with app.app_context():
        make_partner("Other Owner", email="other@example.com")
    other = api_token(client, "other@example.com")
    assert error_of(client.post("/api/partner/leads/999999/move", headers=other,
                                json={"status": 5}), 404) == "No such lead."


#: JSON Schema 2020-12 keywords the document's schemas may use (and OpenAPI's own).
KEYWORDS = {"type", "properties", "required", "items", "enum", "const", "anyOf", "oneOf",
            "allOf", "$ref", "default", "description", "title", "format", "minimum",
            "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength",
            "pattern", "minItems", "maxItems", "additionalProperties", "$defs", "examples"}


def test_the_document_speaks_json_schema_only(client):
    """Every schema in the document uses JSON Schema words only (a constraint pydantic
    could not express would show as "ge" or "le", and bind nothing)."""
    doc = client.get("/api/openapi.json").get_json()
    stack = list(doc["components"]["schemas"].values()) + [
        p["schema"] for ops in doc["paths"].values() for op in ops.values()
        for p in op["parameters"]]
    while stack:
        schema = stack.pop()
        assert set(schema) <= KEYWORDS, set(schema) - KEYWORDS
        for key in ("anyOf", "oneOf", "allOf"):
            stack.extend(schema.get(key, []))
        stack.extend(schema.get("properties", {}).values())
        for key in ("items", "additionalProperties"):
            if isinstance(schema.get(key), dict):
                stack.append(schema[key])
