"""The JSON API's shared parts: its blueprint, error format, pagination and the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from flask import Blueprint, current_app, jsonify, request
from flask_babel import get_locale
from flask_login import current_user
from sqlalchemy import Select, func, select

from . import auth
from .errors import DomainError
from .extensions import csrf, db

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # token-authenticated; a browser session on the API is read-only (GET) below

MAX_LIMIT = 100


def doc(summary: str, *, parameters: list[dict] | None = None, schema: dict | None = None,
        tag: str = "core", body: dict | None = None, status: int = 200) -> Callable[[Callable], Callable]:
    """Describe an endpoint for /api/v1/openapi.json (the access rule is read from the view): its query
    parameters, the JSON schema of its request `body` if it takes one, and its success `status` and schema."""

    def decorate(view: Callable) -> Callable:
        view.kizuna_openapi = {"summary": summary, "parameters": parameters or [], "schema": schema, "tag": tag,
                               "body": body, "status": status}
        return view

    return decorate


def query_param(name: str, description: str, type_: str = "string", required: bool = False, **extra) -> dict:
    return {"name": name, "in": "query", "required": required, "description": description,
            "schema": {"type": type_, **extra}}


def limit_arg(default: int = 20) -> int:
    try:
        value = int(request.args.get("limit", default))
    except ValueError:
        value = default
    return min(max(value, 1), MAX_LIMIT)


PAGE_PARAMS = [query_param("limit", f"Items per page (1–{MAX_LIMIT}).", "integer", default=20),
               query_param("page", "Page number, from 1.", "integer", default=1)]


def page_arg() -> int:
    try:
        return max(int(request.args.get("page", 1)), 1)
    except ValueError:
        return 1


def paged(items: list, *, page: int, limit: int, total: int) -> dict:
    return {"items": items, "page": page, "limit": limit, "total": total,
            "pages": max(1, -(-total // limit))}


@bp.get("/openapi.json")
@auth.public
def openapi():
    """The OpenAPI 3.1 document, built from the endpoints' own declarations."""
    paths: dict = {}
    for rule in current_app.url_map.iter_rules():
        if not rule.rule.startswith(bp.url_prefix):
            continue
        view = current_app.view_functions[rule.endpoint]
        spec = getattr(view, "kizuna_openapi", None)
        if spec is None:
            continue
        path = rule.rule[len(bp.url_prefix):]
        for arg in rule.arguments:
            path = path.replace(f"<int:{arg}>", "{" + arg + "}").replace(f"<{arg}>", "{" + arg + "}")
        access = getattr(view, "kizuna_access", None)
        operation = {
            "summary": spec["summary"],
            "operationId": rule.endpoint,
            "tags": [spec["tag"]],
            "parameters": [{"name": a, "in": "path", "required": True, "schema": {"type": "string"}}
                           for a in rule.arguments] + spec["parameters"],
            "responses": {
                str(spec["status"]): {"description": "Created" if spec["status"] == 201 else "OK",
                                      "content": {"application/json": {"schema": spec["schema"] or {}}}},
                "default": {"description": "Error", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Error"}}}},
            },
        }
        if spec["body"] is not None:
            operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": spec["body"]}}}
        if access != auth.PUBLIC:
            operation["security"] = [{"bearer": []}]
            roles = "any signed-in account" if access == auth.AUTHENTICATED else ", ".join(sorted(access))
            operation["description"] = f"Who may call it: {roles}."
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            paths.setdefault("/api/v1" + path, {})[method.lower()] = operation
    return jsonify({
        "openapi": "3.1.0",
        "info": {"title": "Kizuna API", "version": "1"},
        "servers": [{"url": current_app.config["BASE_URL"]}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": {"type": "object", "properties": {"error": {"type": "object", "properties": {
                "code": {"type": "string"}, "message": {"type": "string"}, "fields": {"type": "object"}}}}}},
        },
    })


@bp.get("/me")
@auth.login_required
@doc("The account the token or session belongs to.", schema={"type": "object"})
def me():
    return jsonify({"id": current_user.id, "email": current_user.email, "name": current_user.name,
                    "role": current_user.role.value, "language": current_user.language,
                    "timezone": current_user.timezone})


# -- tools of the domain modules' endpoints ---------------------------------------------------------------
# JSON schema pieces for the OpenAPI document.
STR, INT, BOOL = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
OPT_STR, OPT_INT = {"type": ["string", "null"]}, {"type": ["integer", "null"]}


def enum_of(cls) -> dict:
    return {"type": "string", "enum": [m.value for m in cls]}


def obj(**properties) -> dict:
    return {"type": "object", "properties": properties}


def list_of(item: dict) -> dict:
    return {"type": "array", "items": item}


def page_of(item: dict) -> dict:
    return obj(items=list_of(item), page=INT, limit=INT, total=INT, pages=INT)


# A body field's type: what JSON value it takes.
TEXT, INTEGER, DAY, FLAG = "string", "integer", "date YYYY-MM-DD", "boolean"
INTS, TEXTS, OBJECTS = "list of integers", "list of strings", "list of objects"
_JSON_TYPES = {TEXT: {"type": "string"}, INTEGER: {"type": "integer"}, DAY: {"type": "string", "format": "date"},
               FLAG: {"type": "boolean"}, INTS: {"type": "array", "items": {"type": "integer"}},
               TEXTS: {"type": "array", "items": {"type": "string"}},
               OBJECTS: {"type": "array", "items": {"type": "object"}}}


def writes(what: str, body: dict[str, tuple[str, str]]) -> dict:
    """doc() arguments for a write: what it does and who may, its JSON body, and 201 on success."""
    return {"summary": f"{what} Editors only, with an API token. A refusal is a 422 whose error.fields names the "
                       "input at fault; success is a 201 with the object.",
            "body": {"type": "object", "additionalProperties": False,
                     "properties": {name: {**_JSON_TYPES[kind], "description": text}
                                    for name, (kind, text) in body.items()}},
            "status": 201}


def updates(what: str, body: dict[str, tuple[str, str]]) -> dict:
    """doc() arguments for a replacement: every field is set, those left out to their default.

    A POST to the object's URL rather than a PUT: the access table (tests/kizuna/test_access.py) and browsers'
    forms know GET and POST only.
    """
    spec = writes(what, body)
    spec["summary"] = (f"{what} Editors only, with an API token. Fields left out are cleared, as on the edit page. "
                       "A refusal is a 422 whose error.fields names the input at fault; success is a 200 with the "
                       "object.")
    spec["status"] = 200
    return spec


def reader_language() -> str:
    return str(get_locale() or "en")


def iso(value) -> str | None:
    """A date or datetime as ISO 8601, None as None."""
    return value.isoformat() if value is not None else None


class Invalid(Exception):
    """A query parameter or body field the API cannot use; becomes a 422 naming `field`."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def invalid(field: str, message: str):
    return auth.api_error(422, "invalid", message, {field: message})


@bp.errorhandler(Invalid)
def _invalid_input(exc: Invalid):
    return invalid(exc.field, str(exc))


def parse_date(field: str, value) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise Invalid(field, f"{field} must be a date as YYYY-MM-DD.")


def parse_int(field: str, value) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise Invalid(field, f"{field} must be an integer.")
    try:
        return int(value)
    except ValueError:
        raise Invalid(field, f"{field} must be an integer.") from None


def arg_enum(name: str, cls):
    value = request.args.get(name, "").strip()
    if not value:
        return None
    try:
        return cls(value)
    except ValueError:
        raise Invalid(name, f"{name} must be one of: {', '.join(m.value for m in cls)}.") from None


def paginate(query: Select, serialize) -> dict:
    """One page of `query` (page and limit from the query string), each row through `serialize`."""
    page, limit = page_arg(), limit_arg()
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.scalars(query.limit(limit).offset((page - 1) * limit)).unique()
    return paged([serialize(r) for r in rows], page=page, limit=limit, total=total)


def read_body(spec: dict[str, tuple[str, str]], required: tuple[str, ...] = ()) -> dict:
    """The JSON body read against `spec` (field → (type, description)): unknown fields, wrong types and
    missing required fields are refused here; the domain's own rules stay in its services."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Invalid("body", "The body must be a JSON object (Content-Type: application/json).")
    if unknown := sorted(set(body) - set(spec)):
        raise Invalid(unknown[0], f"Unknown field {unknown[0]}; the fields are: {', '.join(spec)}.")
    values = {}
    for field, (kind, _text) in spec.items():
        value = body.get(field)
        if value is None:
            if field in required:
                raise Invalid(field, f"{field} is required.")
            continue
        if kind == DAY:
            value = parse_date(field, value)
        elif kind == INTEGER:
            value = parse_int(field, value)
        elif kind == FLAG and not isinstance(value, bool):
            raise Invalid(field, f"{field} must be true or false.")
        elif kind == TEXT and not isinstance(value, str):
            raise Invalid(field, f"{field} must be a string.")
        elif kind == INTS:
            if not isinstance(value, list):
                raise Invalid(field, f"{field} must be a list of integers.")
            value = [parse_int(field, v) for v in value]
        elif kind == TEXTS and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise Invalid(field, f"{field} must be a list of strings.")
        elif kind == OBJECTS and not (isinstance(value, list) and all(isinstance(v, dict) for v in value)):
            raise Invalid(field, f"{field} must be a list of objects.")
        values[field] = value
    return values


def write(call, serialize, *, field: str, status: int = 201):
    """Run a service call for the signed-in editor; commit and answer `status` (201: created), or roll back and
    answer 422 when the service refuses (a DomainError, whose `field` names the input at fault).

    `field` names the input at fault when the service's refusal names none (an id that no longer exists).
    """
    try:
        result = call(current_user._get_current_object())
    except DomainError as exc:
        db.session.rollback()
        return invalid(exc.field or field, str(exc))
    db.session.commit()
    return jsonify(serialize(result)), status
