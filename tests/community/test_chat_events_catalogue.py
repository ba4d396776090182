"""The chat's event catalogue (rules: "Chat events"): ``/api/asyncapi.json`` is a valid
AsyncAPI 3.0 document (checked against the official schema of ``@asyncapi/specs``), it
names exactly the events the server handles and emits, ``docs/chat-events.md`` is the
same catalogue, and what a real Socket.IO client receives matches the document's schemas."""

import copy
import gzip
import json
import re
from pathlib import Path

import jsonschema
import pytest
from conftest import REPO, make_partner
from test_chat import connect, token_for
from test_chat_live import Inbox

from core.base.extensions import socketio
from core.community.events import CLIENT_EVENTS, SERVER_EVENTS

SPEC = Path(__file__).parents[1] / "api" / "specs" / "asyncapi-3.0.0.schema.json.gz"


@pytest.fixture(scope="module")
def official():
    """The AsyncAPI 3.0.0 JSON schema (``@asyncapi/specs`` 6.11.1, without ``$id``)."""
    with gzip.open(SPEC) as fh:
        return jsonschema.Draft7Validator(json.load(fh))


def test_the_document_is_valid_asyncapi_3(client, official):
    resp = client.get("/api/asyncapi.json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    doc = resp.get_json()
    errors = list(official.iter_errors(doc))
    assert not errors, [(list(e.path), e.message[:200]) for e in errors[:5]]
    assert doc["asyncapi"] == "3.0.0"
    assert doc["servers"]["chat"]["pathname"] == "/socket.io/"
    # the validator does bite: an operation without its action is refused
    broken = copy.deepcopy(doc)
    del broken["operations"]["on_send"]["action"]
    assert list(official.iter_errors(broken))


def test_the_catalogue_names_every_event_the_server_handles_and_emits(app, client):
    doc = client.get("/api/asyncapi.json").get_json()
    with app.app_context():
        handled = set(socketio.server.handlers["/"]) - {"connect", "disconnect"}
    assert handled == set(CLIENT_EVENTS)
    received = {op["messages"][0]["$ref"].rsplit("/", 1)[1]
                for op in doc["operations"].values() if op["action"] == "receive"}
    assert received == set(CLIENT_EVENTS)

    # every event name the code emits, read from the source
    emitted = set()
    pattern = re.compile(r"""(?:\bemit|emit_after_commit)\(\s*["']([a-z_]+)["']""")
    for folder in ("core", "portal", "web", "jobs", "api"):
        for path in (REPO / folder).rglob("*.py"):
            emitted |= set(pattern.findall(path.read_text(encoding="utf-8")))
    assert emitted == set(SERVER_EVENTS), emitted ^ set(SERVER_EVENTS)
    sent = {op["messages"][0]["$ref"].rsplit(".", 1)[1]
            for op in doc["operations"].values() if op["action"] == "send"}
    assert sent == set(SERVER_EVENTS)


def test_the_docs_page_is_the_same_catalogue(app):
    from api.asyncapi import document, markdown

    with app.app_context():
        expected = markdown(document(app.config["PUBLIC_BASE_URL"]))
    on_disk = (REPO / "docs" / "chat-events.md").read_text(encoding="utf-8")
    assert on_disk == expected, "docs/chat-events.md is out of date: run `flask api-docs`"
    for name in CLIENT_EVENTS:
        assert f"| `{name}` |" in on_disk


def _validator(doc: dict, schema_name: str) -> jsonschema.Draft202012Validator:
    root = {"$ref": f"#/components/schemas/{schema_name}", "components": doc["components"]}
    return jsonschema.Draft202012Validator(root)


def _check(doc, schema_name, payload):
    errors = list(_validator(doc, schema_name).iter_errors(payload))
    assert not errors, (schema_name, [(list(e.path), e.message[:200]) for e in errors[:3]])


def test_what_a_client_receives_matches_the_document(app, client, live_server):
    """Sarah and Mike chat over real sockets: every acknowledgement and every server
    event they get is valid against the document's schema for it, and a payload the
    document forbids is refused naming the field."""
    doc = client.get("/api/asyncapi.json").get_json()
    with app.app_context():
        make_partner("Sarah Thompson", email="sarah@example.com", deals=3)
        make_partner("Mike Reyes", email="mike@example.com", deals=3)
    sarah = connect(live_server, token_for(app, "sarah@example.com"))
    mike = connect(live_server, token_for(app, "mike@example.com"))
    inbox = Inbox(mike, "message", "message_updated", "typing", "presence")
    try:
        answers = {}
        for who in (sarah, mike):
            answers["join"] = who.call("join", {"channel": "general"}, timeout=5)
        answers["typing"] = sarah.call("typing", {"channel": "general"}, timeout=5)
        answers["send"] = sarah.call("send", {"channel": "general", "body": "Hi **team**"},
                                     timeout=5)
        mid = answers["send"]["id"]
        answers["edit"] = sarah.call("edit", {"id": mid, "body": "Hi team!"}, timeout=5)
        answers["react"] = mike.call("react", {"id": mid, "emoji": "🎉"}, timeout=5)
        answers["read"] = mike.call("read", {"channel": "general", "last_id": mid}, timeout=5)
        answers["history"] = mike.call("history", {"channel": "general", "before": mid + 1},
                                      timeout=5)
        answers["search"] = mike.call("search", {"channel": "general", "q": "team"}, timeout=5)
        answers["heartbeat"] = mike.call("heartbeat", {"state": "away"}, timeout=5)
        answers["unread"] = mike.call("unread", timeout=5)
        answers["delete"] = sarah.call("delete", {"id": mid}, timeout=5)
        answers["leave"] = mike.call("leave", {"channel": "general"}, timeout=5)
        for name, ack in answers.items():
            assert ack["ok"] is True, (name, ack)
            _check(doc, CLIENT_EVENTS[name].answer.__name__, ack)

        for name in ("message", "message_updated", "typing", "presence"):
            assert inbox.wait(name), name
            for payload in inbox.events[name]:
                _check(doc, SERVER_EVENTS[name].payload.__name__, payload)

        refused = sarah.call("send", {"channel": "general", "body": "hi", "parent_id": "7"},
                             timeout=5)
        _check(doc, "Refusal", refused)
        assert refused["error"] == {"code": "validation_error",
                                    "message": "parent_id must be a message id."}
        refused = sarah.call("heartbeat", {"state": "asleep"}, timeout=5)
        assert refused["error"]["message"] == "state is online or away."
    finally:
        sarah.disconnect()
        mike.disconnect()
