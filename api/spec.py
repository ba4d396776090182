"""The API's contract, made from its schemas: spectree checks every request against the
operation's pydantic models (``core/*/schemas.py``) before the view runs, writes the
view's answer model as JSON, and generates the OpenAPI 3.1 document served at
``/api/openapi.json`` from the same models and the views' docstrings.

Declare an operation with :func:`operation` under the route and ``bearer``; the view
names its inputs by annotation (``json: NewLead``, ``query: LeadQuery``) and returns a
schema object, or ``(object, status)``. A body that is not a JSON object is a 400
``bad_json``; a request its models refuse is a 422 ``validation_error`` naming the field
(``core.base.schemas.explain``). The document lists, for each operation, the refusals it
can answer (``{"error": {"code", "message"}}``), derived from what it takes (bearer token:
401, 403; a body: 400, 413, 422; query parameters: 400, 422; ids in the path: 404) plus
those the view names, and 503 with ``Retry-After`` when the database is away.
"""

from dataclasses import dataclass, field

from flask import current_app, has_app_context, make_response, request
from pydantic import BaseModel, RootModel
from spectree import Response, SecurityScheme, SpecTree
from spectree.models import SecuritySchemeData
from spectree.plugins.base import Context
from spectree.plugins.flask_plugin import FlaskPlugin

from core.base.errors import DomainError
from core.base.schemas import MAX_ID, Error, SchemaError

_ERROR_REF = {"$ref": "#/components/responses/Error"}


def _json_object(model) -> dict:
    """The request's JSON object for ``model``; an empty body is ``{}`` when the model
    allows it. Raises ``DomainError`` 400 ``bad_json`` for anything else."""
    if getattr(model, "body_optional", False) and not request.content_length \
            and not request.get_data():
        return {}
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise DomainError("Send a JSON object with Content-Type: application/json.",
                          code="bad_json", status=400)
    return data


def _query_items() -> dict:
    """The query string as ``{name: value}``; a repeated parameter becomes a list (which
    a single-valued field refuses)."""
    out = {}
    for key in request.args:
        values = request.args.getlist(key)
        out[key] = values if len(values) > 1 else values[0]
    return out


def _checked(model, data):
    try:
        return model.model_validate(data)
    except SchemaError as exc:
        raise model.refused(exc) from None


class ApiPlugin(FlaskPlugin):
    """spectree's Flask plugin with the API's rules for reading requests: strict JSON
    objects, query text read by the query model, refusals as ``DomainError``; path ids
    documented as 1..2,147,483,647."""

    def get_current_app(self):
        """The app handling the request, else the last app the API was added to (so the
        document can be made outside a request)."""
        return current_app._get_current_object() if has_app_context() else self.spectree.app

    def request_validation(self, request, query, json, form, headers, cookies):
        """Check the query string and JSON body against their models; the results are
        on ``request.context`` and passed to the view. Raises ``DomainError``."""
        request.context = Context(
            _checked(query, _query_items()) if query else None,
            _checked(json, _json_object(json)) if json else None, None, None, None)

    def validate_response(self, resp, resp_model, skip_validation, force_resp_serialize):
        """Write a schema answer as JSON; a response the view made itself (a file, CSV,
        an error) passes through untouched, never read into memory again."""
        payload = resp[0] if isinstance(resp, tuple) else resp
        if self.is_app_response(payload):
            return make_response(resp), None
        return super().validate_response(resp, resp_model, skip_validation,
                                         force_resp_serialize)

    def parse_path(self, route, path_parameter_descriptions):
        """Path parameters; ``<int:...>`` ids are 1..2,147,483,647 (others answer 404)."""
        path, parameters = super().parse_path(route, path_parameter_descriptions)
        for param in parameters:
            if param["schema"].get("type") == "integer":
                param["schema"] = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
        return path, parameters


@dataclass
class _Extras:
    ok: int
    errors: tuple[int, ...] = ()
    content: dict = field(default_factory=dict)
    body_optional: bool = False


class ApiSpec(SpecTree):
    """The SpecTree of ``/api``: component names are the models' class names, and the
    generated document gets the API's refusals, its outage answer and non-JSON bodies
    (``_Extras`` of each operation)."""

    def __init__(self, **kwargs):
        super().__init__(backend=ApiPlugin, naming_strategy=lambda model: model.__name__,
                         nested_naming_strategy=lambda _parent, child: child,
                         validation_error_model=Error, **kwargs)
        self.extras: dict[str, _Extras] = {}

    def _add_model(self, model, mode="validation") -> str:
        """Add a model's schema; two different schemas under one name is a bug (raises
        ``RuntimeError``)."""
        name = self.naming_strategy(model)
        before = self.models.get(name)
        key = super()._add_model(model, mode)
        if before is not None and before != self.models[key]:
            raise RuntimeError(f"Two schemas are named {name}: rename one of the models.")
        return key

    def _get_model_definitions(self) -> dict:
        """The nested models' schemas; one name always means one schema, whether a model
        is nested or answered on its own (raises ``RuntimeError`` otherwise)."""
        seen = {name: {k: v for k, v in schema.items() if k != "$defs"}
                for name, schema in self.models.items()}
        for schema in self.models.values():
            for name, nested in schema.get("$defs", {}).items():
                if seen.setdefault(name, nested) != nested:
                    raise RuntimeError(f"Two schemas are named {name}: rename one of the models.")
        return super()._get_model_definitions()

    def _generate_spec(self) -> dict:
        doc = super()._generate_spec()
        doc.pop("tags", None)
        for ops in doc["paths"].values():
            for op in ops.values():
                self._finish_operation(op, self.extras[op["operationId"]])
        doc["components"]["responses"] = {
            "Error": {"description": "A refusal a person can read", "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            "Unavailable": {
                "description": "The database is unreachable: nothing was done; try again "
                               "after Retry-After seconds (code database_unavailable)",
                "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Error"}}}},
        }
        return doc

    @staticmethod
    def _finish_operation(op: dict, extras: _Extras) -> None:
        """Refusals, the outage answer, non-JSON success bodies and optional bodies."""
        codes = set(extras.errors)
        if op.get("security"):
            codes |= {401, 403}
        if "requestBody" in op:
            codes |= {400, 413, 422}
            op["requestBody"]["required"] = not extras.body_optional
        places = {p["in"] for p in op["parameters"]}
        if "query" in places:
            codes |= {400, 422}
        if "path" in places:
            codes.add(404)
        ok = {k: v for k, v in op["responses"].items() if int(k) < 400}
        if extras.content:
            ok[str(extras.ok)]["content"] = {kind: {"schema": schema}
                                             for kind, schema in extras.content.items()}
        op["responses"] = {**ok, **{str(c): dict(_ERROR_REF) for c in sorted(codes)},
                           "503": {"$ref": "#/components/responses/Unavailable"}}
        if not op["description"]:
            op.pop("description")


spec = ApiSpec(
    title="SISO Partners API", version="1.0",
    description="Money in integer cents, rates in basis points, times UTC. Errors are "
                "{\"error\": {\"code\", \"message\"}}; lists are {\"items\", \"next_cursor\"}. "
                "A successful answer whose background job could not be queued also carries "
                "\"jobs_queued\": false and a \"warning\".",
    security_schemes=[SecurityScheme(name="bearer",
                                     data=SecuritySchemeData(type="http", scheme="bearer"))],
    mode="strict", page_templates={})


def operation(ok: int, model: type[BaseModel] | None, *, auth: bool = True,
              errors: tuple[int, ...] = (), content: dict | None = None,
              also_ok: tuple[int, ...] = ()):
    """Declare an API operation: the success status ``ok`` (and ``also_ok``, other
    success statuses with the same answer, e.g. 200 for an idempotent repeat of a 201)
    and its answer ``model``
    (``None`` with ``content``, ``{media type: JSON schema}``, for a non-JSON body),
    whether it takes a bearer token (``auth``), and refusals beyond those its inputs
    imply (``errors``, e.g. 409). Inputs come from the view's ``json``/``query``
    annotations; the docstring is the summary (first paragraph) and description."""
    resp = Response(**{f"HTTP_{code}": model for code in (ok, *also_ok)}) \
        if model is not None else Response(f"HTTP_{ok}")

    def deco(fn):
        json_model = fn.__annotations__.get("json")
        spec.extras[fn.__name__] = _Extras(
            ok=ok, errors=tuple(errors), content=dict(content or {}),
            body_optional=bool(getattr(json_model, "body_optional", False)))
        return spec.validate(resp=resp, security={"bearer": []} if auth else {},
                             operation_id=fn.__name__)(fn)

    return deco


class OpenApiDocument(RootModel[dict]):
    """An OpenAPI 3.1 document."""
