"""The network on a world map: inline SVG drawn on the server from the outlines in network/data."""

from __future__ import annotations

import json
import math
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from markupsafe import Markup, escape

DATA = Path(__file__).parent / "data" / "world-110m.json"

# Equal Earth (Šavrič, Patterson, Jenny 2018): equal-area, so no continent looks bigger than it is.
_A1, _A2, _A3, _A4 = 1.340264, -0.081106, 0.000893, 0.003796
_M = math.sqrt(3) / 2
_X_MAX = math.pi / (_M * _A1)  # the equator's half-length, in projection units
_Y_MAX = (math.pi / 3) * (_A1 + _A2 * (math.pi / 3) ** 2 + (math.pi / 3) ** 6 * (_A3 + _A4 * (math.pi / 3) ** 2))

MAP_WIDTH = 1000
_PAD = 5
_SCALE = (MAP_WIDTH - 2 * _PAD) / (2 * _X_MAX)
MAP_HEIGHT = math.ceil(2 * _Y_MAX * _SCALE + 2 * _PAD)

# The map's own colours; every point colour has at least 3:1 contrast against both (WCAG 1.4.11).
LAND = "#dde3e8"
OCEAN = "#f5f8fa"
INK = "#1a1a1a"

KINDS = ("sister_city", "friendship_city", "friendship_state", "mou_partner", "cooperation", "network_member")
STATUSES = ("active", "exchanges_suspended", "dormant", "ended")
COLOURS = {
    "sister_city": "#b2182b",
    "friendship_city": "#0072b2",
    "friendship_state": "#6a3d9a",
    "mou_partner": "#007a5a",
    "cooperation": "#9c4f00",
    "network_member": "#556270",
}
OTHER_COLOUR = "#4d4d4d"

LABELS: dict[str, str] = {
    "sister_city": _l("Sister city"),
    "friendship_city": _l("Friendship city"),
    "friendship_state": _l("Friendship state"),
    "mou_partner": _l("MOU partner"),
    "cooperation": _l("Cooperation"),
    "network_member": _l("Network member"),
    "other": _l("Other"),
    "active": _l("Active"),
    "exchanges_suspended": _l("Exchanges suspended"),
    "dormant": _l("Dormant"),
    "ended": _l("Ended"),
    "home": _l("Home city"),
    "legend_kind": _l("Relationship"),
    "legend_status": _l("Status"),
    "title": _l("World map of the network"),
}

R = 4.5  # a point's radius in viewBox units: a 9 px dot on a 1000 px wide map


@dataclass(frozen=True, slots=True)
class MapPoint:
    """A place to draw. kind and status are the RelationshipKind / RelationshipStatus values."""

    latitude: float
    longitude: float
    label: str
    kind: str = "sister_city"
    status: str = "active"
    href: str | None = None
    country: str = ""  # the name to show in the text alternative, in the reader's language
    country_code: str = ""


@dataclass(frozen=True, slots=True)
class CountryRow:
    """One line of the by-country table that says in words what a map of many points shows."""

    country: str
    country_code: str
    places: int
    kinds: tuple[tuple[str, int], ...]  # (kind label, number of places), most first


@dataclass(frozen=True, slots=True)
class MapRow:
    """One line of the table that says in words what the map shows."""

    label: str
    kind: str
    status: str
    country: str
    href: str | None
    kind_label: str
    status_label: str


def project(latitude: float, longitude: float, central_meridian: float = 0.0) -> tuple[float, float]:
    """Equal Earth in viewBox units, centred on central_meridian: x grows eastwards, y southwards."""
    lam = math.radians(_wrap(longitude - central_meridian))
    return _xy(lam, math.sin(math.radians(max(-90.0, min(90.0, latitude)))))


def _wrap(longitude: float) -> float:
    return (longitude + 180.0) % 360.0 - 180.0


def _xy(lam: float, sin_phi: float) -> tuple[float, float]:
    """Equal Earth from the longitude in radians and the sine of the latitude."""
    theta = math.asin(_M * sin_phi)
    t2 = theta * theta
    t6 = t2 * t2 * t2
    x = lam * math.cos(theta) / (_M * (_A1 + 3 * _A2 * t2 + t6 * (7 * _A3 + 9 * _A4 * t2)))
    y = theta * (_A1 + _A2 * t2 + t6 * (_A3 + _A4 * t2))
    return MAP_WIDTH / 2 + x * _SCALE, MAP_HEIGHT / 2 - y * _SCALE


Ring = list[tuple[float, float]]


@lru_cache(maxsize=1)
def countries() -> tuple[dict, ...]:
    """The shipped outlines: numeric and alpha-2 ISO code, Natural Earth name, rings of (lon, lat)."""
    with DATA.open(encoding="utf-8") as fh:
        shipped = json.load(fh)["countries"]
    out = []
    for country in shipped:
        rings = []
        for flat in country["rings"]:
            lon, lat, ring = 0, 0, []
            for i in range(0, len(flat), 2):
                lon, lat = lon + flat[i], lat + flat[i + 1]
                ring.append((lon / 100, lat / 100))
            rings.append(ring)
        out.append({**country, "rings": rings})
    return tuple(out)


def split_antimeridian(points: Ring) -> list[Ring]:
    """A ring that jumps across ±180° (Fiji, Chukotka, anything on a moved seam) as pieces that don't.

    Longitudes are unwrapped into one continuous run; a ring that goes round a pole (Antarctica) is
    closed along that pole; then each copy shifted by -360°, 0 and +360° is clipped to [-180, 180].
    """
    if all(abs(b[0] - a[0]) < 180 for a, b in zip(points, points[1:] + points[:1], strict=True)):
        return [points]
    unwrapped = [points[0]]
    for lon, lat in points[1:]:
        unwrapped.append((lon + 360 * round((unwrapped[-1][0] - lon) / 360), lat))
    if abs(unwrapped[-1][0] - unwrapped[0][0]) > 180:
        pole = -90.0 if sum(lat for _, lat in points) < 0 else 90.0
        unwrapped += [(unwrapped[-1][0], pole), (unwrapped[0][0], pole)]
    pieces = []
    for shift in (-360, 0, 360):
        piece = _clip([(lon + shift, lat) for lon, lat in unwrapped], 180.0, lambda lon: lon <= 180.0 + 1e-9)
        piece = _clip(piece, -180.0, lambda lon: lon >= -180.0 - 1e-9)
        if len(piece) >= 3 and abs(_area(piece)) > 1e-6:
            pieces.append(piece)
    return pieces


def _clip(points: Ring, edge: float, inside) -> Ring:
    """Sutherland–Hodgman against one meridian: enough for rings that cross it, convex or not."""
    out = []
    for i, (lon, lat) in enumerate(points):
        plon, plat = points[i - 1]
        if inside(lon) != inside(plon):
            out.append((edge, plat + (edge - plon) / (lon - plon) * (lat - plat)))
        if inside(lon):
            out.append((lon, lat))
    return out


def _area(points: Ring) -> float:
    return sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(points, points[1:] + points[:1], strict=True)) / 2


def _outline(rings: list[Ring], central_meridian: float) -> str:
    """SVG path data, relative moves in tenths of a unit; along the seam it follows the map's curved edge."""
    parts = []
    for ring in rings:
        rotated = [(_wrap(lon - central_meridian), lat) for lon, lat in ring] if central_meridian else ring
        for piece in split_antimeridian(rotated):
            xy: list[tuple[int, int]] = []
            for i, (lon, lat) in enumerate(piece):
                plon, plat = piece[i - 1]
                if i and abs(abs(lon) - 180) < 1e-9 and lon == plon and abs(lat - plat) > 1:
                    steps = int(abs(lat - plat))
                    seam = [(lon, plat + (lat - plat) * k / steps) for k in range(1, steps)]
                else:
                    seam = []
                for slon, slat in [*seam, (lon, lat)]:
                    x, y = _xy(math.radians(slon), math.sin(math.radians(slat)))
                    q = (round(x * 10), round(y * 10))
                    if not xy or q != xy[-1]:
                        xy.append(q)
            if len(xy) > 1 and xy[0] == xy[-1]:
                xy.pop()
            if len(xy) < 3:
                continue  # a speck smaller than the rounding
            out = [f"M{_n(xy[0][0])} {_n(xy[0][1])}l"]
            out.append(" ".join(f"{_n(x1 - x0)} {_n(y1 - y0)}" for (x0, y0), (x1, y1) in zip(xy, xy[1:], strict=False)))
            parts.append("".join(out) + "z")
    return "".join(parts).replace(" -", "-")


def _n(tenths: int) -> str:
    """A coordinate in tenths of a unit, as short as SVG allows: 120 → 12, 5 → .5, -5 → -.5."""
    whole, tenth = divmod(abs(tenths), 10)
    sign = "-" if tenths < 0 else ""
    if not tenth:
        return f"{sign}{whole}"
    return f"{sign}{whole or ''}.{tenth}"


@lru_cache(maxsize=8)
def _base_map(central_meridian: float = 0.0) -> str:
    west = [_xy(-math.pi, math.sin(math.radians(lat))) for lat in range(-90, 91, 2)]
    east = [_xy(math.pi, math.sin(math.radians(lat))) for lat in range(90, -91, -2)]
    sphere = "M" + "L".join(f"{x:.1f} {y:.1f}" for x, y in west + east) + "Z"
    land = "".join(f'<path d="{_outline(c["rings"], central_meridian)}" data-country="{escape(c["alpha2"])}"/>'
                   for c in countries())
    return (f'<path d="{sphere}" fill="{OCEAN}" stroke="#b8c2cc" stroke-width="0.8"/>'
            f'<g fill="{LAND}" stroke="#ffffff" stroke-width="0.5" stroke-linejoin="round">{land}</g>')


# How each status is drawn, so that colour is never the only cue (WCAG 1.4.1): a solid dot, a dashed
# ring, a thin ring, a struck-through ring. Attributes of the <g> that holds the points.
def _status_style(status: str, colour: str) -> str:
    if status == "exchanges_suspended":
        return f'fill="#ffffff" stroke="{colour}" stroke-width="2.2" stroke-dasharray="2.4 1.6"'
    if status == "dormant":
        return f'fill="#ffffff" stroke="{colour}" stroke-width="1.6"'
    if status == "ended":
        return f'fill="#ffffff" stroke="{colour}" stroke-width="1.2"'
    return f'fill="{colour}" stroke="#ffffff" stroke-width="1"'


def _marker(x: float, y: float, status: str, r: float = R) -> str:
    circle = f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}"/>'
    if status == "ended":
        d = r * 0.95
        circle += f'<path d="M{x - d:.1f} {y + d:.1f}L{x + d:.1f} {y - d:.1f}" fill="none"/>'
    return circle


def _safe_href(href: str | None) -> bool:
    """A link the page may follow: relative, or http(s). Escaping alone lets javascript: through."""
    if not href:
        return False
    scheme = urlsplit(href.strip()).scheme.lower()
    return scheme in ("", "http", "https")


def _star(x: float, y: float, r: float = 8.0) -> str:
    points = []
    for i in range(10):
        radius = r if i % 2 == 0 else r * 0.45
        angle = math.pi / 5 * i - math.pi / 2
        points.append(f"{x + radius * math.cos(angle):.1f} {y + radius * math.sin(angle):.1f}")
    return "M" + "L".join(points) + "Z"


def _great_circle(a: MapPoint, b: MapPoint, central_meridian: float = 0.0) -> str:
    """Path data for the shortest route from a to b, in two pieces where it crosses the map's edge."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a.latitude, a.longitude - central_meridian,
                                                b.latitude, b.longitude - central_meridian))
    va = (math.cos(lat1) * math.cos(lon1), math.cos(lat1) * math.sin(lon1), math.sin(lat1))
    vb = (math.cos(lat2) * math.cos(lon2), math.cos(lat2) * math.sin(lon2), math.sin(lat2))
    dot = max(-1.0, min(1.0, va[0] * vb[0] + va[1] * vb[1] + va[2] * vb[2]))
    omega = math.acos(dot)
    if omega < 1e-6 or math.pi - omega < 1e-6:
        return ""  # the same place, or antipodes (every route is as short)
    # The route is va·cos t + u·sin t for t in [0, omega], u the unit vector towards vb square to va.
    norm = math.sin(omega)
    u = tuple((q - p * dot) / norm for p, q in zip(va, vb, strict=True))
    steps = max(2, math.ceil(math.degrees(omega) / 10))  # a chord per 10°: smooth at map scale
    step = omega / steps
    out = []
    previous = None
    for i in range(steps + 1):
        t = i * step
        c, s = math.cos(t), math.sin(t)
        x, y, z = va[0] * c + u[0] * s, va[1] * c + u[1] * s, va[2] * c + u[2] * s
        lam = math.atan2(y, x)
        if previous is not None and abs(lam - previous) > math.pi:
            # Where y = 0 on the far side: va_y·cos t + u_y·sin t = 0 between this step and the last.
            seam = math.atan2(-va[1], u[1]) % math.pi
            while seam < t - step:
                seam += math.pi
            z_seam = va[2] * math.cos(seam) + u[2] * math.sin(seam) if seam <= t else z
            edge = math.pi if previous > 0 else -math.pi
            (ex, ey), (wx, wy) = _xy(edge, z_seam), _xy(-edge, z_seam)
            out.append(f"L{ex:.1f} {ey:.1f}M{wx:.1f} {wy:.1f}")
        px, py = _xy(lam, z)
        out.append(f"{'L' if out else 'M'}{px:.1f} {py:.1f}")
        previous = lam
    return "".join(out)


def _text_width(text: str, size: float) -> float:
    """A rough width for laying out the legend: wide (CJK) characters count twice."""
    return sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.6 for c in text) * size


def _legend(kinds: Sequence[str], statuses: Sequence[str], has_home: bool, labels: Mapping[str, str],
            top: float) -> tuple[str, float]:
    """Two labelled rows (kinds, then statuses) on one grid, so that the columns line up in any language."""
    size, row, left = 14.0, 24.0, 12.0
    sections = [(labels["legend_kind"], [(k, "kind") for k in kinds] + ([("home", "home")] if has_home else [])),
                (labels["legend_status"], [(s, "status") for s in statuses])]
    sections = [(str(heading), items) for heading, items in sections if items]
    if not sections:
        return "", 0.0
    text = {item: str(labels.get(item, labels["other"])) for _, items in sections for item, _ in items}
    heading_width = max(_text_width(heading, size) for heading, _ in sections) + 16
    column = max(_text_width(t, size) for t in text.values()) + 2 * R + 24
    columns = max(1, int((MAP_WIDTH - 2 * left - heading_width) // column))
    out = [f'<g class="worldmap-legend" font-family="system-ui, sans-serif" font-size="{size:g}" fill="{INK}">']
    y = top + row / 2
    for heading, items in sections:
        out.append(f'<text x="{left}" y="{y + 5:.1f}" font-weight="bold">{escape(heading)}</text>')
        for i, (item, role) in enumerate(items):
            if i and i % columns == 0:
                y += row
            x = left + heading_width + (i % columns) * column
            if role == "home":
                out.append(f'<path d="{_star(x + R, y, 7)}" fill="{INK}" stroke="#ffffff" stroke-width="1"/>')
            else:
                status = item if role == "status" else "active"
                colour = INK if role == "status" else COLOURS.get(item, OTHER_COLOUR)
                out.append(f"<g {_status_style(status, colour)}>{_marker(x + R, y, status)}</g>")
            out.append(f'<text x="{x + 2 * R + 6:.1f}" y="{y + 5:.1f}">{escape(text[item])}</text>')
        y += row
    out.append("</g>")
    return "".join(out), y - row / 2 - top


def render(points: Iterable[MapPoint], home: MapPoint | None = None, *, lines: bool = False,
           labels: Mapping[str, str] | None = None, title: str | None = None, description: str | None = None,
           id_prefix: str = "worldmap", central_meridian: float = 0.0) -> Markup:
    """The map as inline SVG, safe to put in a page as it is ({{ svg }}): every text is escaped.

    Points are grouped by status and kind; active ones are drawn last, on top. Links inside take no
    tab stop (tabindex -1): a map of a thousand dots is no way to move through with the keyboard, and
    the table of text_alternative() beside the map carries the same links. central_meridian moves
    the map's centre, e.g. to 150 for the Pacific-centred view usual in Japan; the outlines are
    re-projected once per meridian and cached.
    """
    labels = {**LABELS, **(labels or {})}
    central_meridian = round(_wrap(central_meridian), 1)  # also the base map's cache key
    points = list(points)
    groups: dict[tuple[str, str], list[MapPoint]] = {}
    for point in points:
        groups.setdefault((point.status, point.kind), []).append(point)
    kinds = [k for k in KINDS if any(kind == k for _, kind in groups)]
    if any(kind not in COLOURS for _, kind in groups):
        kinds.append("other")
    statuses = [s for s in STATUSES if any(status == s for status, _ in groups)]

    legend, legend_height = _legend(kinds, statuses, home is not None, labels, MAP_HEIGHT + 4)
    height = MAP_HEIGHT + (legend_height + 12 if legend_height > 0 else 0)
    if title is None:
        title = str(labels["title"])
    if description is None:
        description = ngettext(
            "%(num)s place on a world map, coloured by kind of relationship, drawn by status; "
            "the table beside the map lists them.",
            "%(num)s places on a world map, coloured by kind of relationship, drawn by status; "
            "the table beside the map lists them.", len(points))
    pid = escape(id_prefix)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {MAP_WIDTH} {height:.0f}" role="img" '
           f'aria-labelledby="{pid}-title {pid}-desc" class="worldmap">'
           f'<title id="{pid}-title">{escape(title)}</title><desc id="{pid}-desc">{escape(description)}</desc>',
           _base_map(central_meridian)]

    if lines and home is not None:
        out.append(f'<g class="worldmap-lines" fill="none" stroke="{INK}" stroke-opacity="0.3" stroke-width="0.7">')
        for point in points:
            if d := _great_circle(home, point, central_meridian):
                out.append(f'<path d="{d}"/>')
        out.append("</g>")

    order = {s: i for i, s in enumerate(reversed(STATUSES))}
    for (status, kind), members in sorted(groups.items(), key=lambda g: (order.get(g[0][0], -1), g[0][1])):
        shown_status = status if status in STATUSES else "active"
        kind_label = labels.get(kind, labels["other"])
        status_label = labels.get(status, status)
        out.append(f'<g class="worldmap-points" data-kind="{escape(kind)}" data-status="{escape(status)}" '
                   f'{_status_style(shown_status, COLOURS.get(kind, OTHER_COLOUR))}>')
        suffix = escape(f" — {kind_label}, {status_label}")
        for point in members:
            x, y = project(point.latitude, point.longitude, central_meridian)
            tip = f"<title>{escape(point.label)}{suffix}</title>"
            if _safe_href(point.href):
                out.append(f'<a href="{escape(point.href)}" tabindex="-1">{tip}{_marker(x, y, shown_status)}</a>')
            else:
                out.append(f"<g>{tip}{_marker(x, y, shown_status)}</g>")
        out.append("</g>")

    if home is not None:
        x, y = project(home.latitude, home.longitude, central_meridian)
        out.append(f'<g class="worldmap-home"><title>{escape(home.label)} — {escape(labels["home"])}</title>'
                   f'<path d="{_star(x, y)}" fill="{INK}" stroke="#ffffff" stroke-width="1.2"/></g>')
    out.append(legend)
    out.append("</svg>")
    return Markup("".join(out))


def text_alternative(points: Iterable[MapPoint], labels: Mapping[str, str] | None = None) -> list[MapRow]:
    """What the map shows, in words: one row per point, in the order given, for a table beside it."""
    words = {key: str(text) for key, text in {**LABELS, **(labels or {})}.items()}  # translate once
    return [MapRow(label=p.label, kind=p.kind, status=p.status, country=p.country,
                   href=p.href if _safe_href(p.href) else None,
                   kind_label=words.get(p.kind, words["other"]), status_label=words.get(p.status, p.status))
            for p in points]


def by_country(points: Iterable[MapPoint], labels: Mapping[str, str] | None = None) -> list[CountryRow]:
    """What a map of many points shows, in words a reader can take in: places per country and kind, the
    countries with most places first (a table of two thousand places is no alternative to a map)."""
    words = {key: str(text) for key, text in {**LABELS, **(labels or {})}.items()}
    countries: dict[tuple[str, str], Counter[str]] = {}
    for point in points:
        countries.setdefault((point.country, point.country_code), Counter())[point.kind] += 1
    rows = [CountryRow(country=name, country_code=code, places=sum(kinds.values()),
                       kinds=tuple((words.get(kind, words["other"]), n)
                                   for kind, n in sorted(kinds.items(), key=lambda k: (-k[1], k[0]))))
            for (name, code), kinds in countries.items()]
    return sorted(rows, key=lambda r: (-r.places, r.country))
