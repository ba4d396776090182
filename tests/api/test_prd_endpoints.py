"""The PRD's API, whole (docs/prd-api.md): every endpoint the customer's PRD lists is
in /api/openapi.json, or in the page's table of endpoints served another way with the
reason; and every endpoint the table names is one of the PRD's."""

import re

from conftest import REPO

PAGE = REPO / "docs" / "prd-api.md"
ENDPOINT = re.compile(r"^- `(GET|POST|PUT|PATCH|DELETE|WS) (/\S+)` - ", re.M)


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start:] if end < 0 else text[start:end]


def _shape(path: str) -> str:
    """A path with every parameter, ``:id`` or ``{id}``, written ``{}``."""
    return re.sub(r":[A-Za-z_]\w*|\{[^}]+\}", "{}", path)


def test_every_prd_endpoint_is_served_or_says_how(client):
    text = PAGE.read_text(encoding="utf-8")
    listed = ENDPOINT.findall(_section(text, "## The list, as the PRD writes it"))
    assert len(listed) == 35, len(listed)  # the PRD's list as written
    other_table = _section(text, "## Served another way")
    elsewhere = {(m, p) for m, p in re.findall(r"^\| `(\w+) (/\S+)` \| \S", other_table, re.M)}

    doc = client.get("/api/openapi.json").get_json()
    served = {(method.upper(), _shape(path)) for path, ops in doc["paths"].items()
              for method in ops}
    missing = [f"{m} {p}" for m, p in listed
               if (m, _shape(p)) not in served and (m, p) not in elsewhere]
    assert not missing, f"PRD endpoints neither served nor explained: {missing}"
    # the table explains only PRD endpoints that really are not in the document
    assert elsewhere <= set(listed)
    assert not {(m, _shape(p)) for m, p in elsewhere} & served
    # the reason points at where it is served instead, and that place answers
    assert "/socket.io/" in other_table and "/api/asyncapi.json" in other_table
    assert client.get("/api/asyncapi.json").status_code == 200
