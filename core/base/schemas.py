"""The base of the API's schemas (pydantic v2): one model per resource shape, in the
owning package's ``schemas.py``, that checks the request, shapes the response and is
turned into ``/api/openapi.json`` by spectree (``api/spec.py``).

- :class:`Request` bodies are strict: a JSON type that is not the documented one is
  refused (``"1"`` is not 1, ``true`` is not 1, ``1.0`` is not 1); unknown keys are
  ignored, or refused where the model says ``extra="forbid"``.
- :class:`Query` parameters arrive as text: whole numbers are read from digits only;
  unknown parameters are ignored.
- :class:`Shape` is a response shape, built from ORM rows (``from_attributes``) or the
  dicts core returns; :class:`Answer` is a top-level answer, which may carry the two
  notice fields the API adds when a job could not be queued.

A refusal is one sentence that names the field (:func:`explain`), e.g. "limit must be
at most 100."; a field may word its own refusals with :class:`Says`. Money is integer
cents (names ending ``_cents``), rates basis points (``_bps``), times ISO 8601 UTC.
"""

import re
import typing
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import (
    MISSING,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    Strict,
    WithJsonSchema,
)
from pydantic import ValidationError as SchemaError

from core.base.errors import DomainError, NotFound, ValidationError

#: Largest id a row can have (``core.base.extensions.MAX_ROW_ID``, PostgreSQL ``integer``).
MAX_ID = 2**31 - 1

#: A time as the API writes it: ISO 8601 with its UTC offset (``2026-11-01T09:30:00+00:00``).
Time = Annotated[datetime, PlainSerializer(lambda t: t.isoformat(), return_type=str,
                                           when_used="json"),
                 WithJsonSchema({"type": "string", "format": "date-time"})]

#: A row id in a body or a list (any whole number; unknown or impossible ids are 404).
Id = int


@dataclass(frozen=True)
class Says:
    """How a field words its refusals: ``default`` for any error on it (or inside it),
    or one sentence per kind of error: ``missing``, ``null``, ``type`` (wrong JSON type,
    or a wrong shape inside), ``size`` (too short, long, small or large), ``choice``
    (not one of the allowed values), ``pattern``. Kinds left out use ``default``, then
    :func:`explain`'s wording."""

    default: str | None = None
    missing: str | None = None
    null: str | None = None
    type: str | None = None
    size: str | None = None
    choice: str | None = None
    pattern: str | None = None

    def get(self, kind: str) -> str | None:
        """The sentence for an error of ``kind``, or ``None`` to use the default wording."""
        return getattr(self, kind, None) or self.default


@dataclass(frozen=True)
class Unknown:
    """Marks a field holding a row's id: any refusal of it (left out, not a whole number)
    is a 404 with ``message``, as an id that does not exist (core's rule for impossible
    ids, ``core.base.extensions.get_row``)."""

    message: str


class Request(BaseModel):
    """A JSON request body: strict JSON types, unknown keys ignored.

    Class settings: ``body_optional`` (an empty body counts as ``{}``), ``extra_refusal``
    (the sentence for unknown keys when the model forbids them; ``{fields}`` lists them).
    """

    model_config = ConfigDict(strict=True, extra="ignore")

    body_optional: ClassVar[bool] = False
    extra_refusal: ClassVar[str] = "These fields are not accepted here: {fields}."

    @classmethod
    def refused(cls, error: SchemaError) -> DomainError:
        """The refusal answered for ``error``: a 422 ``validation_error`` naming the field,
        or a 404 when the field is an id marked :class:`Unknown`."""
        first = error.errors(include_url=False)[0]
        info, _says = _field_info(cls, first["loc"])
        unknown = [m for m in (info.metadata if info else ()) if isinstance(m, Unknown)]
        if unknown and first["type"] != "extra_forbidden":
            return NotFound(unknown[0].message)
        return ValidationError(explain(cls, error))

    def sent(self) -> dict:
        """The fields the client sent, as ``{name: value}`` (left-out ones absent)."""
        return self.model_dump(exclude_unset=True)


class ClosedRequest(Request):
    """A request body whose unknown keys are refused (422), not ignored."""

    model_config = ConfigDict(extra="forbid")


def _query_int(value):
    """Whole numbers in a query string: digits (an optional minus sign) only, so
    ``1.5``, ``1.0``, ``1_000``, `` 5`` and ``abc`` are refused as not whole numbers."""
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,4000}", value):
        return int(value)
    return value


#: A whole number in a query string (see :func:`_query_int`).
QueryInt = Annotated[int, Strict(), BeforeValidator(_query_int)]


class Query(BaseModel):
    """Query-string parameters: text from the URL, read as the fields' types (an empty
    value is a value: ``?limit=`` is not a number); unknown parameters are ignored."""

    model_config = ConfigDict(extra="ignore")

    @classmethod
    def refused(cls, error: SchemaError) -> DomainError:
        """The refusal answered for ``error`` (a 422 ``validation_error``)."""
        return ValidationError(explain(cls, error))

    def sent(self) -> dict:
        """The parameters the client sent, as ``{name: value}`` (left-out ones absent;
        defaults not filled in)."""
        return self.model_dump(exclude_unset=True)


class Shape(BaseModel):
    """A response shape, built from ORM rows or core's dicts (keys it does not name are
    left out of the answer)."""

    model_config = ConfigDict(from_attributes=True)


class Answer(Shape):
    """A top-level answer. When the answer's background job could not be queued (Redis
    not answering), the API adds ``jobs_queued: false`` and a ``warning`` sentence."""

    jobs_queued: Literal[False] = Field(MISSING, description=(
        "Present (false) only when a background job of this request could not be queued; "
        "it runs once the queue is back"))
    warning: str = Field(MISSING, description="What was not queued, for people")


class Page(Answer):
    """A list answer: ``items`` and the cursor of the next page (``null`` on the last)."""

    next_cursor: int | None = None


class ErrorDetail(BaseModel):
    """The refusal itself: a machine ``code`` and a ``message`` for people."""

    code: str
    message: str


#: The error object inline in ``Error`` (clients and tests read it without a reference).
_ERROR_SCHEMA = {"type": "object", "required": ["code", "message"],
                 "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                                "retry_after": {"type": "integer", "description":
                                                "Seconds to wait (429 only)"}}}


class Error(BaseModel):
    """Every refusal: ``{"error": {"code", "message"}}`` (a 429 adds ``retry_after``)."""

    error: Annotated[ErrorDetail, WithJsonSchema(_ERROR_SCHEMA)]


def dump(items) -> list[dict]:
    """JSON-ready dicts of schema objects (``model_dump(mode="json")`` of each)."""
    return [item.model_dump(mode="json") for item in items]


# --- refusals as sentences --------------------------------------------------------------

_TYPE_WORDS = (("int", "a whole number"), ("bool", "true or false"), ("string", "text"),
               ("list", "a list"), ("dict", "a JSON object"), ("model", "a JSON object"),
               ("float", "a number"))
_SIZE = {"string_too_short", "string_too_long", "too_short", "too_long", "greater_than",
         "greater_than_equal", "less_than", "less_than_equal"}


def _kind(err: dict) -> str:
    kind = err["type"]
    if kind == "missing":
        return "missing"
    if kind == "extra_forbidden":
        return "extra"
    if err.get("input", 0) is None and (kind.endswith("_type") or kind == "literal_error"):
        return "null"
    if kind in _SIZE:
        return "size"
    if kind in ("literal_error", "enum"):
        return "choice"
    if kind == "string_pattern_mismatch":
        return "pattern"
    if kind == "value_error":
        return "value"
    return "type"


def _path(loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "The body"


def _inner_model(annotation):
    """The model class inside ``annotation`` (``Model``, ``list[Model]``, ``Model | None``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _field_info(model, loc):
    """The ``FieldInfo`` at ``loc`` and every ``Says`` on the way down to it."""
    info, says = None, []
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        info = model.model_fields.get(part)
        if info is None:
            break
        says += [m for m in info.metadata if isinstance(m, Says)]
        model = _inner_model(info.annotation)
    return info, says


def _choices(info, err: dict) -> str:
    """The allowed values of a choice field, as ``a, b, c``."""
    if info is not None:
        stack, found = [info.annotation], []
        while stack:
            item = stack.pop()
            if typing.get_origin(item) is Literal:
                found += [str(v) for v in typing.get_args(item)]
            else:
                stack.extend(typing.get_args(item))
        if found:
            return ", ".join(found)
    return str(err.get("ctx", {}).get("expected", "")).replace("'", "")


def _amount(name: str, value) -> str:
    """A limit as people read it: dollars for ``*_cents`` fields, else the number."""
    if name.endswith("_cents") and isinstance(value, int):
        whole, frac = divmod(value, 100)
        return f"${whole:,}" + (f".{frac:02d}" if frac else "")
    return f"{value:,}" if isinstance(value, int) else str(value)


def _type_words(name: str, err_type: str) -> str:
    if err_type.startswith("int") or err_type == "int_from_float":
        if name.endswith("_cents"):
            return "a whole number of cents, e.g. 150000 for $1,500"
        if name.endswith("_bps"):
            return "a whole number of basis points (100 = 1%)"
    for prefix, words in _TYPE_WORDS:
        if err_type.startswith(prefix):
            return words
    return "of another type"


def _size_words(name: str, err: dict) -> str:
    ctx, kind = err.get("ctx", {}), err["type"]
    if kind == "string_too_short":
        n = ctx.get("min_length", 1)
        return "cannot be empty" if n == 1 else f"must be at least {n:,} characters"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length', 0):,} characters"
    if kind in ("too_short", "too_long"):
        n = ctx.get("min_length" if kind == "too_short" else "max_length", 0)
        return f"must hold at {'least' if kind == 'too_short' else 'most'} {n:,} " \
               f"{'item' if n == 1 else 'items'}"
    if kind in ("greater_than", "greater_than_equal"):
        low = ctx.get("gt", ctx.get("ge"))
        if low == 0:
            return "must be more than zero" if kind == "greater_than" else "must be zero or more"
        return f"must be {'more than' if kind == 'greater_than' else 'at least'} " \
               f"{_amount(name, low)}"
    high = ctx.get("lt", ctx.get("le"))
    return f"must be {'less than' if kind == 'less_than' else 'at most'} {_amount(name, high)}"


def _sentence(err: dict, kind: str, path: str, info) -> str:
    name = path.rsplit(".", 1)[-1].split("[", 1)[0]
    if kind == "missing":
        return f"{path} is required."
    if kind == "null":
        return f"{path} cannot be null: leave it out or send a value."
    if kind == "size":
        return f"{path} {_size_words(name, err)}."
    if kind == "choice":
        return f"{path} must be one of: {_choices(info, err)}."
    if kind == "pattern":  # the field's own description reads better than its regex
        described = getattr(info, "description", None)
        if described:
            return f"{path} is not in the expected form: {described}."
        return f"{path} is not in the expected form ({err.get('ctx', {}).get('pattern')})."
    if kind == "value":
        return str(err.get("ctx", {}).get("error", err["msg"]))
    return f"{path} must be {_type_words(name, err['type'])}."


def explain(model, error: SchemaError) -> str:
    """One sentence for a person about what is wrong with a request checked by
    ``model``: unknown keys first (all named, ``model.extra_refusal``), else the first
    error, naming the field (``leads[2].lead_id``) in the field's own words
    (:class:`Says`) or in plain ones ("limit must be at most 100.")."""
    errors = error.errors(include_url=False)
    extra = [e for e in errors if e["type"] == "extra_forbidden" and len(e["loc"]) == 1]
    if extra:
        template = getattr(model, "extra_refusal", "{fields} cannot be sent here.")
        return template.format(fields=", ".join(sorted(str(e["loc"][0]) for e in extra)))
    err = errors[0]
    kind = _kind(err)
    info, says = _field_info(model, err["loc"])
    for said in reversed(says):
        sentence = said.get("type" if kind == "extra" else kind)
        if sentence:
            return sentence
    if kind == "extra":
        return f"{_path(err['loc'])} is not accepted here."
    return _sentence(err, kind, _path(err["loc"]), info)




class SyncQuery(Query):
    """Page a change feed (``core.base.sync``): rows changed at or after
    ``updated_since``, or after ``cursor`` (which wins), oldest change first."""

    updated_since: datetime = Field(MISSING, description=(
        "ISO 8601 time with its zone, e.g. 2026-12-01T00:00:00Z"))
    cursor: str = Field(MISSING, max_length=200,
                        description="The next_cursor of the previous page")
    limit: QueryInt = Field(100, ge=1, le=500)


class SyncPage(Answer):
    """A page of a change feed: ``next_cursor`` continues after its last row (keep it to
    poll for later changes), ``has_more`` says whether more rows are there now."""

    next_cursor: str | None = None
    has_more: bool = False


__all__ = ["MISSING", "MAX_ID", "Answer", "ClosedRequest", "Error", "Field", "Id", "Page",
           "Query", "QueryInt", "Request", "SchemaError", "SyncPage", "SyncQuery", "Says",
           "Shape", "Time", "Unknown",
           "dump", "explain"]
