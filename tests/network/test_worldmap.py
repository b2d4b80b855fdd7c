"""The network world map: inline SVG from the shipped outlines, with status shown by more than colour."""

import xml.etree.ElementTree as ET

import pytest
from flask_babel import force_locale

from network import worldmap
from network.worldmap import LAND, OCEAN, MapPoint, render, text_alternative

SVG = "{http://www.w3.org/2000/svg}"
TOKYO = MapPoint(35.6895, 139.6917, "Tokyo", kind="home")
PARIS = MapPoint(48.8566, 2.3522, "Paris", "friendship_city", "active", "/network/partners/1", "France")
SYDNEY = MapPoint(-33.8688, 151.2093, "New South Wales", "friendship_state", "active", None, "Australia")
BEIJING = MapPoint(39.9042, 116.4074, "Beijing", "friendship_city", "exchanges_suspended", None, "China")
MOSCOW = MapPoint(55.7558, 37.6173, "Moscow", "friendship_city", "dormant", None, "Russia")
SAO_PAULO = MapPoint(-23.55, -46.63, "São Paulo State", "friendship_state", "ended", None, "Brazil")
NEW_YORK = MapPoint(40.7128, -74.006, "New York", "sister_city", "active", "/network/partners/2", "United States")


def parse(svg: str) -> ET.Element:
    return ET.fromstring(str(svg))


def points_of(root: ET.Element) -> list[ET.Element]:
    return [c for g in root.iter(f"{SVG}g") if g.get("class") == "worldmap-points" for c in g.iter(f"{SVG}circle")]


def test_map_is_an_image_with_title_and_description():
    root = parse(render([PARIS, SYDNEY], TOKYO))
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("viewBox").startswith(f"0 0 {worldmap.MAP_WIDTH} ")
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title.text and desc.text and "2" in desc.text
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"


def test_one_circle_per_point_at_its_projected_position():
    points = [PARIS, SYDNEY, NEW_YORK, MapPoint(TOKYO.latitude, TOKYO.longitude, "Tokyo office", "cooperation")]
    circles = points_of(parse(render(points, TOKYO)))
    assert len(circles) == len(points)
    at = {(round(float(c.get("cx"))), round(float(c.get("cy")))) for c in circles}
    paris, sydney, new_york, tokyo = (worldmap.project(p.latitude, p.longitude) for p in points)
    assert {(round(x), round(y)) for x, y in (paris, sydney, new_york, tokyo)} == at
    assert tokyo[0] > paris[0] > new_york[0]  # east is right
    assert tokyo[1] < sydney[1]  # north is up
    assert worldmap.project(0, 0) == (worldmap.MAP_WIDTH / 2, worldmap.MAP_HEIGHT / 2)


def test_home_city_is_a_star_not_a_point():
    root = parse(render([PARIS], TOKYO))
    home = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "worldmap-home")
    assert home.find(f"{SVG}title").text.startswith("Tokyo")
    assert len(points_of(root)) == 1


def test_every_label_is_escaped():
    evil = MapPoint(10, 10, '<script>alert("x")</script>', "sister_city", "active", '/p?a=1&b="2"')
    svg = render([evil], MapPoint(0, 0, "<b>Home</b>"), title="<i>t</i>", description="&")
    assert "<script>" not in svg and "<b>" not in svg and "<i>" not in svg
    root = parse(svg)  # would fail on a stray & or <
    link = next(root.iter(f"{SVG}a"))
    assert link.get("href") == '/p?a=1&b="2"'
    assert link.find(f"{SVG}title").text.startswith('<script>alert("x")</script>')


def test_points_with_href_are_links_with_a_tooltip():
    root = parse(render([PARIS, BEIJING]))
    links = list(root.iter(f"{SVG}a"))
    assert [a.get("href") for a in links] == ["/network/partners/1"]
    assert links[0].find(f"{SVG}title").text.startswith("Paris")
    assert links[0].find(f"{SVG}circle") is not None


def test_a_script_link_is_not_a_link():
    sneaky = MapPoint(10, 10, "Sneaky", href=" JavaScript:alert(1)")
    root = parse(render([sneaky]))
    assert list(root.iter(f"{SVG}a")) == []
    assert len(points_of(root)) == 1
    assert text_alternative([sneaky])[0].href is None


def test_status_is_drawn_by_shape_not_only_by_colour():
    """Same kind, four statuses: four different outlines or fills, and the ended one is struck through."""
    root = parse(render([PARIS, BEIJING, MOSCOW, MapPoint(1, 1, "Ended", "friendship_city", "ended")]))
    groups = {g.get("data-status"): g for g in root.iter(f"{SVG}g") if g.get("class") == "worldmap-points"}
    assert set(groups) == {"active", "exchanges_suspended", "dormant", "ended"}
    looks = {s: (g.get("fill"), g.get("stroke-width"), g.get("stroke-dasharray")) for s, g in groups.items()}
    assert len(set(looks.values())) == 4
    assert {g.get("stroke") for g in groups.values()} <= {"#ffffff", worldmap.COLOURS["friendship_city"]}
    assert next(groups["ended"].iter(f"{SVG}path"), None) is not None
    assert groups["exchanges_suspended"].get("stroke-dasharray")


def test_legend_names_the_kinds_and_statuses_shown():
    root = parse(render([PARIS, BEIJING, NEW_YORK], TOKYO))
    legend = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "worldmap-legend")
    texts = [t.text for t in legend.iter(f"{SVG}text")]
    for text in ("Relationship", "Sister city", "Friendship city", "Home city", "Status", "Active",
                 "Exchanges suspended"):
        assert text in texts
    assert "Dormant" not in texts and "MOU partner" not in texts


def test_unknown_kind_is_drawn_as_other():
    root = parse(render([MapPoint(0, 0, "Somewhere", "twin_town", "active")]))
    assert len(points_of(root)) == 1
    assert "Other" in [t.text for t in root.iter(f"{SVG}text")]


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


@pytest.mark.parametrize("colour", [*worldmap.COLOURS.values(), worldmap.OTHER_COLOUR, worldmap.INK])
@pytest.mark.parametrize("background", [LAND, OCEAN, "#ffffff"])
def test_point_colours_contrast_three_to_one_with_the_map(colour, background):
    light, dark = sorted((_luminance(colour), _luminance(background)), reverse=True)
    assert (light + 0.05) / (dark + 0.05) >= 3


def test_text_alternative_lists_every_point_in_order():
    points = [PARIS, SYDNEY, BEIJING, MOSCOW, SAO_PAULO, NEW_YORK]
    rows = text_alternative(points)
    assert [(r.label, r.kind, r.status, r.country) for r in rows] == [
        (p.label, p.kind, p.status, p.country) for p in points]
    assert rows[2].kind_label == "Friendship city" and rows[2].status_label == "Exchanges suspended"
    assert rows[0].href == "/network/partners/1"


def test_legend_and_rows_follow_the_readers_language(app):
    with app.test_request_context(), force_locale("ja"):
        svg = render([NEW_YORK], TOKYO)
        rows = text_alternative([NEW_YORK])
    assert "Sister city" not in svg and "Relationship" not in svg
    assert rows[0].kind_label != "Sister city"


def test_labels_can_be_overridden():
    svg = render([NEW_YORK], labels={"sister_city": "Twin town"})
    assert "Twin town" in svg and "Sister city" not in svg
    assert text_alternative([NEW_YORK], labels={"active": "Live"})[0].status_label == "Live"


def test_lines_from_home_cross_the_antimeridian_in_two_parts():
    root = parse(render([NEW_YORK, PARIS], TOKYO, lines=True))
    lines = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "worldmap-lines")
    pieces = [path.get("d").count("M") for path in lines]
    assert pieces == [2, 1]  # Tokyo–New York over the Pacific in two pieces, Tokyo–Paris in one
    assert not any(g.get("class") == "worldmap-lines" for g in parse(render([PARIS], TOKYO)).iter(f"{SVG}g"))


def test_base_map_ships_every_country():
    countries = worldmap.countries()
    assert len(countries) >= 170
    assert {"JP", "FR", "AU", "US", "BR", "CN"} <= {c["alpha2"] for c in countries}
    shapes = [p for p in parse(render([])).iter(f"{SVG}path") if p.get("data-country") is not None]
    assert len(shapes) == len(countries)
    assert worldmap.DATA.stat().st_size < 300_000


def test_tokyo_lies_inside_japan():
    japan = next(c for c in worldmap.countries() if c["alpha2"] == "JP")
    lon, lat = TOKYO.longitude, TOKYO.latitude
    inside = 0
    for ring in japan["rings"]:  # even-odd rule over every ring
        for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True):
            if (y0 > lat) != (y1 > lat) and lon < x0 + (lat - y0) / (y1 - y0) * (x1 - x0):
                inside ^= 1
    assert inside


def subpaths(d: str) -> list[list[tuple[float, float]]]:
    """Absolute points of each "M x y l dx dy … z" outline in a path."""
    tokens = d.replace("M", " M ").replace("l", " l ").replace("z", " ").replace("-", " -").split()
    out, mode, i = [], None, 0
    while i < len(tokens):
        if tokens[i] in ("M", "l"):
            mode = tokens[i]
            i += 1
            continue
        dx, dy = float(tokens[i]), float(tokens[i + 1])
        if mode == "M":
            out.append([(dx, dy)])
        else:
            x, y = out[-1][-1]
            out[-1].append((x + dx, y + dy))
        i += 2
    return out


@pytest.mark.parametrize("meridian", [0, 150, -100])
def test_outlines_are_cut_at_the_map_edge_wherever_it_is(meridian):
    """No outline may run across the whole map: a ring that crosses the antimeridian is cut in two."""
    root = parse(render([], central_meridian=meridian))
    widest = {}
    for path in root.iter(f"{SVG}path"):
        if path.get("data-country") not in (None, "AQ"):
            for points in subpaths(path.get("d")):
                xs = [x for x, _ in points]
                widest[path.get("data-country")] = max(widest.get(path.get("data-country"), 0), max(xs) - min(xs))
                assert min(xs) >= -1 and max(xs) <= worldmap.MAP_WIDTH + 1
    assert max(widest.values()) < worldmap.MAP_WIDTH / 2
    assert widest["RU"] > 200  # and Russia is still whole where the edge misses it


def test_pacific_centred_map_puts_the_americas_east_of_tokyo():
    root = parse(render([NEW_YORK, PARIS], TOKYO, central_meridian=150))
    x = {a.find(f"{SVG}title").text.split(" — ")[0]: float(a.find(f"{SVG}circle").get("cx"))
         for a in root.iter(f"{SVG}a")}
    tokyo = worldmap.project(TOKYO.latitude, TOKYO.longitude, 150)[0]
    assert x["New York"] > tokyo > x["Paris"]
    assert tokyo < worldmap.MAP_WIDTH / 2  # 150°E is the centre, Tokyo a little west of it
