"""Every 5xx is a bug: a corpus of hostile requests, made from /api/openapi.json and the
app's /api routes, against every API operation with a valid token of the right kind
(partner operations with an active partner's, staff ones with a staff member holding
every role, so the requests reach the code behind the checks). Nothing may answer a
5xx, and every 4xx is JSON in the documented error shape.

The corpus: JSON nested far deeper than allowed (arrays and objects), a JSON body over
``JSON_MAX_BYTES`` (413) and one over ``MAX_CONTENT_LENGTH``, every field of every
request schema with values of every other JSON type (and out-of-range numbers,
over-long and unpaired-surrogate text), integers of ±10**30 in every path and query
parameter, bytes that are not UTF-8 in bodies, query strings and paths, and NUL bytes.
(Admin lists with absurd page, sort and filter values: tests/test_admin_queries.py.)
"""

import json
import re

import pytest
from conftest import api_token, make_partner, make_staff

HUGE = 10**30
#: Values of each JSON type, to put where another type belongs.
SAMPLES = {"integer": [HUGE, -HUGE, 0], "number": [1.5, -0.0, 1e308],
           "string": ["", "x" * 100_000, "\ud800 unpaired", "‮ ﷽ 𝕏"],
           "boolean": [True, False], "null": [None], "array": [[], [None], [[[]]], [{}]],
           "object": [{}, {"a": {"b": [1]}}]}


@pytest.fixture
def world(app):
    """An active partner with a confirmed deal (so ids 1 exist), and staff with every
    role; their bearer headers by kind."""
    with app.app_context():
        make_partner("Hostile Partner", email="hostile@example.com", deals=1)
        make_staff("hostile.staff@example.com", ("admin", "finance", "support", "content"))
    client = app.test_client()
    return {"partner": api_token(client, "hostile@example.com"),
            "staff": api_token(client, "hostile.staff@example.com", kind="staff"),
            "none": {}}


def operations(app, doc) -> list[tuple[str, str, dict]]:
    """``(METHOD, path template, operation)`` for every /api route and method the app
    serves; each must be in the document."""
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<(?:int:)?([a-z_]+)>", r"{\1}", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            op = doc["paths"][path][method.lower()]
            out.append((method, path, op))
    assert len(out) >= 50, len(out)
    return out


def kind_of(path: str, op: dict) -> str:
    if not op.get("security"):
        return "none"
    return "staff" if path.startswith("/api/staff/") else "partner"


def resolve(doc, schema: dict) -> dict:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def json_type(schema: dict) -> str:
    """The main JSON type of a property schema (the first non-null of an anyOf)."""
    if "anyOf" in schema:
        return next((json_type(s) for s in schema["anyOf"] if s.get("type") != "null"), "null")
    if "const" in schema:
        return {bool: "boolean", int: "integer", str: "string"}[type(schema["const"])]
    return schema.get("type", "object")


def example(doc, schema: dict):
    """A value of the schema's type, valid where that is simple to make."""
    schema = resolve(doc, schema)
    if "anyOf" in schema:
        return example(doc, next(s for s in schema["anyOf"] if s.get("type") != "null"))
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type", "object")
    if kind == "integer":
        return max(1, schema.get("minimum", 1), schema.get("exclusiveMinimum", 0) + 1)
    if kind == "string":
        return "2026-01" if "pattern" in schema else "x" * max(1, schema.get("minLength", 1))
    if kind == "boolean":
        return True
    if kind == "array":
        return [example(doc, schema.get("items", {}))] * schema.get("minItems", 0)
    props = schema.get("properties", {})
    return {name: example(doc, props[name]) for name in schema.get("required", [])}


def body_schema(doc, op: dict) -> dict | None:
    body = op.get("requestBody")
    return resolve(doc, body["content"]["application/json"]["schema"]) if body else None


def wrong_bodies(doc, schema: dict):
    """A valid-looking body with one field (or one field of a list's first item) set to
    each value of another JSON type, or to an absurd value of its own type."""
    base = example(doc, schema)
    for name, prop in schema.get("properties", {}).items():
        own = json_type(resolve(doc, prop))
        for kind, values in SAMPLES.items():
            for value in values:
                if kind != own or kind in ("integer", "string", "array"):
                    yield {**base, name: value}
        item = resolve(doc, resolve(doc, prop).get("items", {}))
        if item.get("properties"):
            for body in wrong_bodies(doc, item):
                yield {**base, name: [body]}


def path_urls(path: str):
    """The path with its ids filled with 1, then each id in turn made absurd."""
    params = re.findall(r"{([a-z_]+)}", path)
    yield path.format(**{p: 1 for p in params})
    for p in params:
        for bad in (HUGE, -HUGE, "%FF%FE", "%C3%28", "%00", "1%00"):
            yield path.format(**{**{q: 1 for q in params}, p: bad})


def query_strings(op: dict):
    for param in op.get("parameters", []):
        if param["in"] != "query":
            continue
        name = param["name"]
        for bad in (str(HUGE), str(-HUGE), "%FF%FE", "%C0%AF", "a%00b", "", "1.5",
                    "x" * 5000, "9" * 5000):
            yield f"{name}={bad}"
        yield f"{name}=1&{name}=2"


DEEP = ["[" * 50_000 + "]" * 50_000, '{"a":' * 20_000 + "1" + "}" * 20_000,
        '{"a": [' * 300 + "]}" * 300]
RAW = [b'{"x": "\xff\xfe"}', b"\xef\xbb\xbf{}", b'{"x": "\xed\xa0\x80"}', b"{\x00}",
       b'{"x": "a\\u0000b"}', b"\x00" * 64, b'{"x": 1e999999}', b"[" + b"1," * 50_000 + b"1]",
       b'{"a": 1, "a": 2}', b"null", b"12345678901234567890" * 300]


def check(resp, what: str) -> None:
    """No 5xx; a 4xx is JSON ``{"error": {"code", "message"}}``."""
    assert resp.status_code < 500, (what, resp.status_code, resp.get_data(as_text=True)[:300])
    if resp.status_code >= 400:
        assert resp.is_json, (what, resp.status_code, resp.get_data(as_text=True)[:200])
        body = resp.get_json()
        assert set(body) == {"error"}, (what, body)
        assert {"code", "message"} <= set(body["error"]), (what, body)
        assert isinstance(body["error"]["message"], str) and body["error"]["message"], what


def test_hostile_requests_never_get_a_server_error(app, world):
    """The corpus above, against every operation; every answer is checked."""
    client = app.test_client()
    doc = client.get("/api/openapi.json").get_json()
    limit = app.config["JSON_MAX_BYTES"]
    sent = 0
    for method, path, op in operations(app, doc):
        headers = world[kind_of(path, op)]
        schema = body_schema(doc, op)

        def send(url, what, **kw):
            nonlocal sent
            sent += 1
            check(client.open(url, method=method, headers=headers, **kw), f"{method} {what}")

        base_url = next(path_urls(path))
        for url in path_urls(path):
            send(url, url, json=example(doc, schema) if schema else None)
        for qs in query_strings(op):
            send(f"{base_url}?{qs}", f"{base_url}?{qs}")
        send(base_url, "raw query bytes", environ_overrides={"QUERY_STRING": "q=\xff\xfe&limit=1"})
        send(base_url, "raw path bytes", environ_overrides={"PATH_INFO": base_url + "\xff\xfe"})
        if schema is None:
            continue
        for text in DEEP:
            send(base_url, f"{base_url} nested", data=text, content_type="application/json")
        for raw in RAW:
            send(base_url, f"{base_url} {raw[:20]!r}", data=raw, content_type="application/json")
        big = json.dumps({**example(doc, schema), "padding": "x" * (limit + 1)})
        resp = client.open(base_url, method=method, headers=headers, data=big,
                           content_type="application/json")
        check(resp, f"{method} {base_url} over JSON_MAX_BYTES")
        assert resp.status_code == 413, (base_url, resp.status_code)
        for name in schema.get("properties", {}):
            send(base_url, f"{base_url} NUL in {name}", json={**example(doc, schema),
                                                              name: "a\x00b"})
        for body in wrong_bodies(doc, schema):
            send(base_url, f"{base_url} {json.dumps(body)[:200]}", json=body)
    assert sent > 2000, sent


def test_bodies_over_the_request_limit_are_json_413(app, world):
    """A body over ``MAX_CONTENT_LENGTH`` (any content type) is refused before it is read,
    in the API's error shape."""
    client = app.test_client()
    limit = app.config["MAX_CONTENT_LENGTH"]
    for content_type in ("application/json", "application/x-www-form-urlencoded",
                         "text/plain"):
        resp = client.post("/api/partner/leads", headers=world["partner"],
                           data=b"x" * (limit + 1), content_type=content_type)
        check(resp, content_type)
        assert resp.status_code == 413
