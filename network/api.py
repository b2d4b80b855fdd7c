"""JSON endpoints of the network registry."""

from flask import abort, jsonify, request
from flask_babel import get_locale

from kizuna import auth
from kizuna.api import bp, doc, limit_arg, query_param

from . import services


@bp.get("/cities")
@auth.login_required
@doc("Cities whose name starts with q (case- and accent-insensitive), most populous first.",
     parameters=[query_param("q", "Name prefix, such as 'tok' or 'zur'.", required=True, minLength=1),
                 query_param("country", "ISO 3166-1 alpha-2 code to restrict to, such as JP."),
                 query_param("limit", "At most this many cities (1–100).", "integer", default=20)],
     schema={"type": "object", "properties": {"items": {"type": "array", "items": {"type": "object"}}}},
     tag="network")
def cities():
    q = request.args.get("q", "").strip()
    if not q:
        abort(422, "Give a name prefix in q, such as ?q=tok.")
    if len(q) > 200:
        abort(422, "q must have at most 200 characters.")
    country = request.args.get("country", "").strip()
    if country and (len(country) != 2 or not country.isalpha()):
        abort(422, "country must be a two-letter ISO code, such as JP.")
    language = str(get_locale() or "en")
    found = services.search_cities(q, country=country or None, limit=limit_arg())
    return jsonify({"items": [services.city_json(c, language) for c in found]})
