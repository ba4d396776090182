"""Checks on raw request input that must run before anything parses or walks it
(rules: "Bad input"): nesting depth of a JSON body, and NUL characters."""

import re

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
