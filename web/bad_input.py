"""Checks on raw request input that run before any view parses or walks it (rules:
"Bad input"): the size and nesting depth of a JSON body, and NUL characters."""

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


def has_nul(value) -> bool:
    """True when ``value`` (a parsed JSON value, or a str) holds a NUL character in any
    string, key or value. Walks with a stack, never recursion."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def refuse_bad_bodies() -> None:
    """``before_request``: a JSON body over ``JSON_MAX_BYTES`` is a 413 before it is
    parsed, one nested deeper than ``JSON_MAX_DEPTH`` a 400 before anything walks it;
    then NUL characters, which PostgreSQL text cannot hold, are a 400 in the path, query,
    form or JSON body instead of a failure inside the database."""
    if request.is_json:
        limit = current_app.config["JSON_MAX_BYTES"]
        if (request.content_length or 0) > limit or len(request.get_data()) > limit:
            raise DomainError(f"JSON bodies are at most {limit:,} bytes.",
                              code="payload_too_large", status=413)
        depth = current_app.config["JSON_MAX_DEPTH"]
        if json_depth_exceeds(request.get_data(), depth):
            raise DomainError(f"JSON nested deeper than {depth} levels is not accepted.",
                              code="bad_json", status=400)
    if "\x00" in request.path or \
            any(has_nul(k) or has_nul(v) for k, v in request.args.items(multi=True)) or \
            any(has_nul(k) or has_nul(v) for k, v in request.form.items(multi=True)) or \
            (request.is_json and has_nul(request.get_json(silent=True))):
        raise DomainError("Text cannot contain NUL (0x00) characters.", code="bad_input",
                          status=400)


def init_app(app: Flask) -> None:
    """Check every request's input before its view runs."""
    app.before_request(refuse_bad_bodies)
