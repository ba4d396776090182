"""Checks on raw request input that run before any view parses or walks it (rules:
"Bad input"): a query string that is not UTF-8, the size and nesting depth of a JSON
body, and text that cannot be stored (NUL characters, unpaired surrogates)."""

import re

from flask import Flask, current_app, request

from core.base.errors import DomainError

#: A JSON string (with its escapes), removed before brackets are counted.
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_BRACKET = re.compile(rb"[\[\]{}]")


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """True when the JSON text ``body`` nests arrays and objects deeper than ``limit``
    (brackets inside strings do not count). Works on the raw bytes without recursion,
    so a body of ``[`` × 100,000 is answered in time and memory proportional to its
    length; malformed JSON is left to the parser."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    for match in _BRACKET.finditer(_JSON_STRING.sub(b"", body)):
        if match.group() in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


#: Why text is refused, by what it holds: NUL (PostgreSQL text cannot hold it), and a
#: lone UTF-16 surrogate (JSON's ``"\ud800"``: no UTF-8 encoding exists for it).
NUL_MESSAGE = "Text cannot contain NUL (0x00) characters."
SURROGATE_MESSAGE = ("Text cannot contain unpaired surrogates (such as \\ud800): send "
                     "valid Unicode.")
_SURROGATE = re.compile("[\ud800-\udfff]")


def bad_text(value) -> str | None:
    """Why ``value`` (a parsed JSON value, a str, or pairs of them) cannot be stored as text, or
    ``None``: a NUL character or an unpaired surrogate in any string, key or value.
    Walks with a stack, never recursion."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return NUL_MESSAGE
            if _SURROGATE.search(item):
                return SURROGATE_MESSAGE
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return None


def refuse_bad_bodies() -> None:
    """``before_request``: a query string that is not UTF-8 is a 400 before anything
    reads it; a JSON body over ``JSON_MAX_BYTES`` is a 413 before it is parsed, one
    nested deeper than ``JSON_MAX_DEPTH`` a 400 before anything walks it; then text that
    cannot be stored (:func:`bad_text`) is a 400 in the path, query, form or JSON body
    instead of a failure inside the database."""
    try:
        request.query_string.decode()
    except UnicodeDecodeError:
        raise DomainError("The query string must be UTF-8 text (percent-encode other bytes).",
                          code="bad_input", status=400) from None
    if request.is_json:
        limit = current_app.config["JSON_MAX_BYTES"]
        if (request.content_length or 0) > limit or len(request.get_data()) > limit:
            raise DomainError(f"JSON bodies are at most {limit:,} bytes.",
                              code="payload_too_large", status=413)
        depth = current_app.config["JSON_MAX_DEPTH"]
        if json_depth_exceeds(request.get_data(), depth):
            raise DomainError(f"JSON nested deeper than {depth} levels is not accepted.",
                              code="bad_json", status=400)
    why = bad_text(request.path) or bad_text(list(request.args.items(multi=True))) or \
        bad_text(list(request.form.items(multi=True))) or \
        (bad_text(request.get_json(silent=True)) if request.is_json else None)
    if why:
        raise DomainError(why, code="bad_input", status=400)


def init_app(app: Flask) -> None:
    """Check every request's input before its view runs."""
    app.before_request(refuse_bad_bodies)
