"""``/api/asyncapi.json``: the live chat's events as an AsyncAPI 3.0 document, made from
the models the chat server checks payloads with (``core.community.events``), and the
same catalogue as Markdown for ``docs/chat-events.md`` (``flask api-docs``). Rules: "Chat
events"."""

from flask import current_app
from pydantic import BaseModel, RootModel

from api import api
from api.spec import operation
from core.community.events import CLIENT_EVENTS, SERVER_EVENTS, EventError, Refusal

_REF = "#/components/schemas/{model}"

_CONNECT = (
    "Socket.IO 4 (Engine.IO 4) on the default namespace `/`, path `/socket.io/`. "
    "Authenticate with the session cookie (pages) or, from an app, with a login token of "
    "`POST /api/auth/partner/login` in the handshake: `auth: {\"token\": \"<token>\"}`. "
    "Staff API keys are refused. Browsers must come from this site (`Origin`). A partner "
    "whose application is still under review cannot connect. A connection that loses "
    "its access (logout, suspension, password change) hears `kicked` and is closed. "
    "Every client event is acknowledged: `{\"ok\": true, ...}` or `{\"ok\": false, "
    "\"error\": {\"code\", \"message\"}}` (also sent as an `error` event); a refused event "
    "changes nothing and the connection stays up.")


class AsyncApiDocument(RootModel[dict]):
    """An AsyncAPI 3.0 document."""


def _schemas(sent: list[type[BaseModel]], answered: list[type[BaseModel]]) -> dict:
    """The JSON schemas of the models clients send (as the server reads them) and of
    those the server writes, and of every model inside them, by class name, with
    references into ``#/components/schemas``."""
    out: dict[str, dict] = {}
    for models, mode in ((sent, "validation"), (answered, "serialization")):
        for model in models:
            schema = model.model_json_schema(ref_template=_REF, mode=mode)
            for name, nested in schema.pop("$defs", {}).items():
                out.setdefault(name, nested)
            out.setdefault(model.__name__, schema)
    for schema in out.values():  # the HTTP answers' job notice never travels on a socket
        for key in _HTTP_ONLY:
            schema.get("properties", {}).pop(key, None)
    return out


#: Fields of ``core.base.schemas.Answer`` that only HTTP answers carry.
_HTTP_ONLY = ("jobs_queued", "warning")


def _message(name: str, model: type[BaseModel], summary: str, description: str = "") -> dict:
    msg = {"name": name, "title": name, "summary": summary,
           "contentType": "application/json",
           "payload": {"$ref": _REF.format(model=model.__name__)}}
    if description:
        msg["description"] = description
    return msg


def _refusals_text(codes: tuple[str, ...]) -> str:
    return f"Refusals: {', '.join(codes)}." if codes else ""


def _client_parts(messages: dict, operations: dict) -> None:
    for name, ev in CLIENT_EVENTS.items():
        ack = f"{name}.ack"
        refused = f"{name}.refused"
        messages[name] = _message(name, ev.payload, ev.summary,
                                  " ".join(p for p in (ev.limits, _refusals_text(ev.refusals))
                                           if p))
        messages[ack] = _message(ack, ev.answer, f"The acknowledgement of {name}")
        messages[refused] = _message(refused, Refusal, f"{name} refused: nothing changed")
        operations[f"on_{name}"] = {
            "action": "receive", "channel": {"$ref": "#/channels/chat"},
            "summary": ev.summary, "description": ev.limits or ev.summary,
            "messages": [{"$ref": f"#/channels/chat/messages/{name}"}],
            "reply": {"channel": {"$ref": "#/channels/chat"}, "messages": [
                {"$ref": f"#/channels/chat/messages/{ack}"},
                {"$ref": f"#/channels/chat/messages/{refused}"}]},
        }


def _server_parts(messages: dict, operations: dict) -> None:
    for name, ev in SERVER_EVENTS.items():
        key = f"server.{name}"
        messages[key] = _message(name, ev.payload, ev.summary, f"To {ev.to}.")
        operations[f"emit_{name}"] = {
            "action": "send", "channel": {"$ref": "#/channels/chat"}, "summary": ev.summary,
            "description": f"Emitted to {ev.to}.",
            "messages": [{"$ref": f"#/channels/chat/messages/{key}"}],
        }


def document(public_base_url: str) -> dict:
    """The AsyncAPI 3.0 document of the chat, for a server at ``public_base_url``
    (``http(s)://host[:port]``). Operations are the server's: it *receives* each client
    event (and replies with the acknowledgement) and *sends* each server event."""
    scheme, _, host = public_base_url.partition("://")
    messages: dict[str, dict] = {}
    operations: dict[str, dict] = {}
    _client_parts(messages, operations)
    _server_parts(messages, operations)
    sent = [ev.payload for ev in CLIENT_EVENTS.values()]
    answered = [ev.answer for ev in CLIENT_EVENTS.values()] + \
        [ev.payload for ev in SERVER_EVENTS.values()] + [Refusal, EventError]
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "SISO Partners live chat", "version": "1.0",
                 "description": _CONNECT},
        "defaultContentType": "application/json",
        "servers": {"chat": {
            "host": host.rstrip("/"), "protocol": "wss" if scheme == "https" else "ws",
            "pathname": "/socket.io/", "description": "Socket.IO 4 (Engine.IO 4)",
            "security": [{"$ref": "#/components/securitySchemes/token"}]}},
        "channels": {"chat": {
            "address": "/", "title": "The default namespace",
            "description": "Every event travels here; rooms (channels, your own user) "
                           "decide who hears a server event.",
            "messages": {key: {"$ref": f"#/components/messages/{key}"} for key in messages}}},
        "operations": operations,
        "components": {
            "messages": messages,
            "schemas": _schemas(sent, answered),
            "securitySchemes": {"token": {
                "type": "httpApiKey", "in": "query", "name": "token",
                "description": "A login token, sent in the Socket.IO handshake's auth "
                               "object as {\"token\": ...} (or the session cookie)."}},
        },
    }


@api.get("/asyncapi.json")
@operation(200, AsyncApiDocument, auth=False)
def asyncapi_json():
    """The live chat's events (AsyncAPI 3.0)

    Every Socket.IO event a client sends (payload, acknowledgement, refusals, limits) and
    every event the server emits, made from the models the chat server checks payloads
    with."""
    return AsyncApiDocument(document(current_app.config["PUBLIC_BASE_URL"]))


# --- docs/chat-events.md ------------------------------------------------------------------

def _fields(schema: dict, schemas: dict) -> str:
    """``name: type`` pairs of an object schema, optional ones marked ``?``."""
    props = schema.get("properties", {})
    required = set(schema.get("required", []))
    parts = [f"`{name}{'' if name in required else '?'}`: {_type(p, schemas)}"
             for name, p in props.items()]
    return ", ".join(parts) or "nothing"


def _type(prop: dict, schemas: dict) -> str:
    if "$ref" in prop:
        return prop["$ref"].rsplit("/", 1)[1]
    if "anyOf" in prop:
        return " or ".join(_type(p, schemas) for p in prop["anyOf"])
    if "const" in prop:
        return repr(prop["const"]).lower() if isinstance(prop["const"], bool) else \
            f"\"{prop['const']}\""
    if "enum" in prop:
        return " or ".join(f"\"{v}\"" for v in prop["enum"])
    kind = prop.get("type", "any")
    if prop.get("format") == "date-time":
        return "time (UTC)"
    if kind == "array":
        return f"list of {_type(prop.get('items', {}), schemas)}"
    if kind == "object" and "additionalProperties" in prop:
        return f"map of {_type(prop['additionalProperties'], schemas)}"
    return {"integer": "int", "string": "text", "boolean": "bool", "null": "null"}.get(kind,
                                                                                       kind)


def markdown(doc: dict) -> str:
    """``docs/chat-events.md``: the document's events as tables for people."""
    schemas = doc["components"]["schemas"]
    out = ["# Chat events (Socket.IO)", "",
           "Made from `core/community/events.py` by `flask api-docs`; the machine-readable "
           "form is `/api/asyncapi.json` (AsyncAPI 3.0). Do not edit by hand.", "",
           doc["info"]["description"], "", "## Client → server (acknowledged)", "",
           "| Event | Payload | Acknowledgement | Limits and refusals |",
           "| --- | --- | --- | --- |"]
    for name, ev in CLIENT_EVENTS.items():
        payload = _fields(schemas[ev.payload.__name__], schemas)
        ack = _fields(schemas[ev.answer.__name__], schemas)
        notes = " ".join(p for p in (ev.limits, _refusals_text(ev.refusals)) if p) or "—"
        out.append(f"| `{name}` | {payload} | {ack} | {notes} |")
    out += ["", "## Server → client", "", "| Event | Payload | To |", "| --- | --- | --- |"]
    for name, ev in SERVER_EVENTS.items():
        out.append(f"| `{name}` | {_fields(schemas[ev.payload.__name__], schemas)} | {ev.to} |")
    out += ["", "## Shapes", ""]
    for name in sorted(schemas):
        schema = schemas[name]
        if schema.get("type") == "object":
            out.append(f"- **{name}**: {_fields(schema, schemas)}")
    return "\n".join(out) + "\n"
