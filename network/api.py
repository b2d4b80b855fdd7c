"""JSON endpoints of the network registry."""

from flask import jsonify, request
from flask_babel import get_locale

from kizuna import auth
from kizuna.api import bp, doc, limit_arg, query_param

from . import services

CITY_SCHEMA = {"type": "object", "properties": {
    "id": {"type": "integer", "description": "GeoNames id"},
    "name": {"type": "string"},
    "country": {"type": "string", "description": "ISO 3166-1 alpha-2 code"},
    "country_name": {"type": "string", "description": "in the reader's language"},
    "admin1": {"type": ["string", "null"], "description": "GeoNames first-level administrative division"},
    "latitude": {"type": "number"},
    "longitude": {"type": "number"},
    "population": {"type": "integer"},
    "timezone": {"type": "string", "description": "IANA time zone, such as Asia/Tokyo"},
    "label": {"type": "string", "description": "'Name, Country' in the reader's language"},
}}


def _invalid(field: str, message: str):
    return auth.api_error(422, "invalid", message, {field: message})


@bp.get("/cities")
@auth.login_required
@doc("Cities whose name starts with q (case- and accent-insensitive; other names such as Peking or 東京 "
     "count too), most populous first.",
     parameters=[query_param("q", "Name prefix, such as 'tok', 'zur' or '東京'.", required=True, minLength=1,
                             maxLength=services.MAX_QUERY),
                 query_param("country", "ISO 3166-1 alpha-2 code to restrict to, such as JP."),
                 query_param("limit", "At most this many cities (1–100).", "integer", default=20)],
     schema={"type": "object", "properties": {"items": {"type": "array", "items": CITY_SCHEMA}}},
     tag="network")
def cities():
    q = request.args.get("q", "").strip()
    if not q:
        return _invalid("q", "Give a name prefix in q, such as ?q=tok.")
    if len(q) > services.MAX_QUERY:
        return _invalid("q", f"q must have at most {services.MAX_QUERY} characters.")
    country = request.args.get("country", "").strip().upper()
    if country and services.find_country(country) is None:
        return _invalid("country", "country must be an ISO 3166-1 alpha-2 code, such as JP.")
    language = str(get_locale() or "en")
    found = services.search_cities(q, country=country or None, limit=limit_arg())
    return jsonify({"items": [services.city_json(c, language) for c in found]})
