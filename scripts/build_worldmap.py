"""Build network/data/world-110m.json, the base map network/worldmap.py draws, from world-atlas.

Run once, when the source changes; the output is committed, and nothing is fetched at
run time:

    cd /tmp && npm pack world-atlas@2 && tar xzf world-atlas-2.*.tgz
    python3 scripts/build_worldmap.py /tmp/package/countries-110m.json

The input is TopoJSON (Natural Earth 1:110m, public domain; world-atlas is ISC). Its arcs are
joined into one list of rings per country, in hundredths of a degree and delta-encoded to stay
small. Projection happens at run time (once per central meridian, cached), so the map can be
centred on any home city: rings that cross the antimeridian are cut there by network/worldmap.py.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pycountry

ROOT = Path(__file__).resolve().parent.parent
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


def quantize(points: list[tuple[float, float]]) -> list[int]:
    """A ring as [lon0, lat0, dlon1, dlat1, …] in hundredths of a degree, closing point dropped."""
    q: list[tuple[int, int]] = []
    for lon, lat in points:
        p = (round(lon * 100), round(lat * 100))
        if not q or p != q[-1]:
            q.append(p)
    if len(q) > 1 and q[0] == q[-1]:
        q.pop()
    if len(q) < 3:
        return []
    flat = [q[0][0], q[0][1]]
    for (x0, y0), (x1, y1) in zip(q, q[1:], strict=False):
        flat += [x1 - x0, y1 - y0]
    return flat


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
        rings = [q for polygon in polygons for r in polygon if (q := quantize(ring(arcs, r)))]
        if not rings:
            continue
        name = geometry.get("properties", {}).get("name", "")
        countries.append({"numeric": geometry.get("id", ""), "alpha2": alpha2(geometry.get("id"), name),
                          "name": name, "rings": rings})
    countries.sort(key=lambda c: c["name"])
    return {
        "source": "Natural Earth 1:110m Admin 0 countries via world-atlas 2 (countries-110m.json)",
        "encoding": "rings of [lon, lat, dlon, dlat, ...] in hundredths of a degree, implicitly closed",
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
