"""Pages of the network registry; for now the city reference with its search."""

from flask import Blueprint, render_template, request
from flask_babel import get_locale

from kizuna import auth
from kizuna.models import Role

from . import services

bp = Blueprint("network", __name__, url_prefix="/network")


@bp.get("/cities")
@auth.roles_required(Role.VIEWER)
def cities():
    q = request.args.get("q", "").strip()[:services.MAX_QUERY]
    country = request.args.get("country", "").strip().upper()[:2]
    found = services.search_cities(q, country=country or None, limit=50) if q else []
    return render_template("network/cities.html", q=q, country=country, cities=found,
                           countries=services.countries(), language=str(get_locale()))
