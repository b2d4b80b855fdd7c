"""Build network/data/world-110m.json, the base map network/worldmap.py draws, from world-atlas.

Run once, when the source or the projection changes; the output is committed, nothing is fetched at
run time:

    cd /tmp && npm pack world-atlas@2 && tar xzf world-atlas-2.*.tgz
    python3 scripts/build_worldmap.py /tmp/package/countries-110m.json

The input is TopoJSON (Natural Earth 1:110m, public domain; world-atlas is ISC). Each country
becomes one SVG path, already projected with Equal Earth into the map's viewBox and rounded to
0.1 unit (a tenth of a pixel at the default size), written with relative commands to stay small.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pycountry

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from network.worldmap import MAP_HEIGHT, MAP_WIDTH, project  # noqa: E402

OUTPUT = ROOT / "network" / "data" / "world-110m.json"


def decode_arcs(topology: dict) -> list[list[tuple[float, float]]]:
    """Arcs as (longitude, latitude) lists: quantized arcs are delta-encoded, then scaled."""
    transform = topology.get("transform")
    arcs = []
    for arc in topology["arcs"]:
        if transform:
            (sx, sy), (tx, ty) = transform["scale"], transform["translate"]
            x = y = 0
            points = []
            for dx, dy in arc:
                x += dx
                y += dy
                points.append((x * sx + tx, y * sy + ty))
        else:
            points = [(p[0], p[1]) for p in arc]
        arcs.append(points)
    return arcs


def ring(arcs: list[list[tuple[float, float]]], indexes: list[int]) -> list[tuple[float, float]]:
    """Join a ring's arcs; ~i is arc i reversed, and each arc repeats the previous one's last point."""
    points: list[tuple[float, float]] = []
    for index in indexes:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        points.extend(arc[1:] if points else arc)
    return points


def split_antimeridian(points: list[tuple[float, float]]) -> list[list[tuple[float, float]]]:
    """A ring that jumps across ±180° (Fiji, Chukotka) as pieces that each stay on one side.

    Longitudes are unwrapped into one continuous run; a ring that goes round a pole (Antarctica) is
    closed along that pole; then each copy shifted by -360°, 0 and +360° is clipped to [-180, 180].
    """
    unwrapped = [points[0]]
    for lon, lat in points[1:]:
        lon += 360 * round((unwrapped[-1][0] - lon) / 360)
        unwrapped.append((lon, lat))
    if all(a[0] == b[0] or abs(b[0] - a[0]) < 180 for a, b in zip(points, points[1:], strict=False)):
        return [points]
    if abs(unwrapped[-1][0] - unwrapped[0][0]) > 180:
        pole = -90.0 if sum(lat for _, lat in points) < 0 else 90.0
        unwrapped += [(unwrapped[-1][0], pole), (unwrapped[0][0], pole)]
    pieces = []
    for shift in (-360, 0, 360):
        piece = [(lon + shift, lat) for lon, lat in unwrapped]
        piece = _clip(piece, 180.0, lambda lon: lon <= 180.0 + 1e-9)
        piece = _clip(piece, -180.0, lambda lon: lon >= -180.0 - 1e-9)
        if len(piece) >= 3 and abs(_area(piece)) > 1e-9:
            pieces.append(piece)
    return pieces


def _clip(points, edge, inside):
    """Sutherland–Hodgman against one meridian: enough for rings that cross it, convex or not."""
    out = []
    for i, (lon, lat) in enumerate(points):
        plon, plat = points[i - 1]
        if inside(lon) != inside(plon):
            t = (edge - plon) / (lon - plon)
            out.append((edge, plat + t * (lat - plat)))
        if inside(lon):
            out.append((lon, lat))
    return out


def _area(points):
    return sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(points, points[1:] + points[:1], strict=True)) / 2


def _densify_seam(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Along ±180° the map's edge is curved: follow it a degree at a time instead of cutting across."""
    out = []
    for i, (lon, lat) in enumerate(points):
        plon, plat = points[i - 1]
        if i and abs(abs(lon) - 180) < 1e-9 and lon == plon and abs(lat - plat) > 1:
            steps = int(abs(lat - plat))
            out.extend((lon, plat + (lat - plat) * k / steps) for k in range(1, steps))
        out.append((lon, lat))
    return out


def path_data(rings: list[list[tuple[float, float]]]) -> str:
    parts = []
    for points in (piece for r in rings for piece in split_antimeridian(r)):
        xy = []
        for lon, lat in _densify_seam(points):
            x, y = project(lat, lon)
            q = (round(x * 10), round(y * 10))
            if not xy or q != xy[-1]:
                xy.append(q)
        if len(xy) > 1 and xy[0] == xy[-1]:
            xy.pop()
        if len(xy) < 3:
            continue  # a speck below the rounding: invisible at any sensible size
        out = [f"M{_n(xy[0][0])} {_n(xy[0][1])}l"]
        deltas = []
        for (x0, y0), (x1, y1) in zip(xy, xy[1:], strict=False):
            deltas.append(f"{_n(x1 - x0)} {_n(y1 - y0)}")
        out.append(" ".join(deltas))
        out.append("z")
        parts.append("".join(out))
    return "".join(parts).replace(" -", "-")


def _n(tenths: int) -> str:
    """A coordinate in tenths of a unit, written as short as SVG allows: 12.0 → 12, 0.5 → .5."""
    text = f"{tenths / 10:.1f}".rstrip("0").rstrip(".")
    return text.replace("0.", ".", 1) if text.startswith(("0.", "-0.")) else text or "0"


def alpha2(numeric: str | None, name: str) -> str:
    if name == "Kosovo":
        return "XK"  # user-assigned, not in ISO 3166-1, but what passports and CLDR use
    country = pycountry.countries.get(numeric=numeric) if numeric else None
    return country.alpha_2 if country else ""


def build(source: Path) -> dict:
    topology = json.loads(source.read_text())
    arcs = decode_arcs(topology)
    countries = []
    for geometry in topology["objects"]["countries"]["geometries"]:
        if geometry["type"] == "Polygon":
            polygons = [geometry["arcs"]]
        elif geometry["type"] == "MultiPolygon":
            polygons = geometry["arcs"]
        else:
            continue
        rings = [ring(arcs, r) for polygon in polygons for r in polygon]
        d = path_data(rings)
        if not d:
            continue
        name = geometry.get("properties", {}).get("name", "")
        countries.append({"numeric": geometry.get("id", ""), "alpha2": alpha2(geometry.get("id"), name),
                          "name": name, "d": d})
    countries.sort(key=lambda c: c["name"])
    return {
        "source": "Natural Earth 1:110m Admin 0 countries via world-atlas 2 (countries-110m.json)",
        "projection": "Equal Earth",
        "width": MAP_WIDTH,
        "height": MAP_HEIGHT,
        "countries": countries,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", type=Path, help="world-atlas countries-110m.json")
    parser.add_argument("-o", "--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    data = build(args.source)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"{args.output}: {len(data['countries'])} countries, {args.output.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
