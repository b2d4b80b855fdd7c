"""The JSON API's shared parts: its blueprint, error format, pagination and the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, current_app, jsonify, request
from flask_login import current_user

from . import auth
from .extensions import csrf

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
