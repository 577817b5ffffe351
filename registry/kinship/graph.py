"""The family view as an SVG drawn on the server: no script, no external service, no inline CSS.

Only SVG presentation attributes are used (fill, stroke, dash patterns), which the
strict Content-Security-Policy allows; every name is escaped. Generations are rows:
parents and guardians above the person, grandparents two rows up, siblings beside.

For a screen reader the drawing is a group of links, one a person, each named in full;
the lines and the legend are hidden from it, since the page lists the same relationships
as a table.
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from collections.abc import Callable

from markupsafe import Markup, escape

from registry.kinship.labels import KIND_LABELS, STATUS_LABELS, STATUS_STROKES
from registry.kinship.models import Relationship
from registry.kinship.models import RelationshipKind as K
from registry.kinship.service import Family
from registry.persons.models import Person

# How many generations above the person the relative stands.
GENERATIONS_UP = {
    K.BIOLOGICAL_MOTHER: 1,
    K.BIOLOGICAL_FATHER: 1,
    K.GUARDIAN: 1,
    K.AUNT_UNCLE: 1,
    K.GRANDPARENT: 2,
    K.SIBLING: 0,
    K.HALF_SIBLING: 0,
}
NODE_W, NODE_H, GAP_X, ROW_H, MARGIN, LEGEND_H, SIBLING_ARCS = 170, 52, 40, 130, 20, 60, 60


def generations(family: Family) -> dict[str, int]:
    """Row of each person, the centre at 0, found by walking the relationships outwards."""
    row = {family.centre.id: 0}
    edges: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for r in family.relationships:
        up = GENERATIONS_UP[K(r.kind)]
        edges[r.person_id].append((r.relative_id, -up))
        edges[r.relative_id].append((r.person_id, up))
    queue = deque([family.centre.id])
    while queue:
        current = queue.popleft()
        for other, step in edges[current]:
            if other not in row:
                row[other] = row[current] + step
                queue.append(other)
    return row


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _node(person: Person, x: int, y: int, centre: bool, href: str) -> str:
    name = person.official_name.full if person.official_name else ""
    born = f" · {person.birth_date.year}" if person.birth_date else ""
    fill, width = ("#e0ecff", 3) if centre else ("#ffffff", 1)
    named = escape(f"{name}, {person.registry_number}")  # in full: the box shortens a long name
    current = ' aria-current="page"' if centre else ""
    return (
        f'<a href="{escape(href)}" aria-label="{named}"{current}>'
        f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="6" '
        f'fill="{fill}" stroke="#1d2327" stroke-width="{width}"/>'
        f'<text x="{x + NODE_W // 2}" y="{y + 21}" text-anchor="middle" font-size="13" fill="#1d2327">'
        f"{escape(_short(name, 24))}</text>"
        f'<text x="{x + NODE_W // 2}" y="{y + 39}" text-anchor="middle" font-size="11" fill="#5b6770">'
        f"{escape(person.registry_number + born)}</text></a>"
    )


def _bezier(a: tuple[float, float], c: tuple[float, float], b: tuple[float, float], t: float) -> tuple[int, int]:
    x = (1 - t) ** 2 * a[0] + 2 * (1 - t) * t * c[0] + t**2 * b[0]
    y = (1 - t) ** 2 * a[1] + 2 * (1 - t) * t * c[1] + t**2 * b[1]
    return round(x), round(y)


def _edge(r: Relationship, a: tuple[int, int], b: tuple[int, int], parallel: int) -> str:
    """A curve from the upper box to the lower one (an arc below both for the same row).

    Lines that skip a generation bow sideways so they do not run behind the box between;
    a second relationship between the same two persons bows the other way.
    """
    colour, dash = STATUS_STROKES[r.status]
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    bow = parallel * 60
    if a[1] == b[1]:
        start, end = (a[0], a[1] + NODE_H // 2), (b[0], b[1] + NODE_H // 2)
        control = ((a[0] + b[0]) / 2, start[1] + 30 + abs(a[0] - b[0]) / 8 + bow)
    else:
        top, bottom = (a, b) if a[1] < b[1] else (b, a)
        start, end = (top[0], top[1] + NODE_H // 2), (bottom[0], bottom[1] - NODE_H // 2)
        skip = abs(a[1] - b[1]) > ROW_H
        side = 1 if end[0] >= start[0] else -1
        control = ((start[0] + end[0]) / 2 + side * ((NODE_W * 0.8 if skip else 0) + bow), (start[1] + end[1]) / 2)
    lx, ly = _bezier(start, control, end, 0.5 if a[1] == b[1] else 0.62 - 0.1 * parallel)
    label = str(KIND_LABELS[r.kind])
    width = 7 * len(label) + 8
    return (
        f'<g aria-hidden="true"><title>{escape(label)} · {escape(str(STATUS_LABELS[r.status]))}</title>'
        f'<path d="M{start[0]},{start[1]} Q{control[0]:.0f},{control[1]:.0f} {end[0]},{end[1]}" fill="none" '
        f'stroke="{colour}" stroke-width="3"{dash_attr}/>'
        f'<rect x="{lx - width // 2}" y="{ly - 9}" width="{width}" height="15" rx="3" fill="#ffffff" '
        f'fill-opacity="0.85"/><text x="{lx}" y="{ly + 3}" text-anchor="middle" font-size="11" '
        f'fill="#1d2327">{escape(label)}</text></g>'
    )  # the line has the status colour; the words stay legible


def _legend_column() -> int:
    """Wide enough for the longest status in the reader's language (Kazakh ones run long)."""
    return 36 + 7 * max(len(str(label)) for label in STATUS_LABELS.values()) + 24


def _legend(top: int) -> str:
    """Three entries a row, so the legend never runs past a narrow drawing."""
    parts = []
    column = _legend_column()
    for i, (status, (colour, dash)) in enumerate(STATUS_STROKES.items()):
        x, y = MARGIN + (i % 3) * column, top + (i // 3) * 22
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<line x1="{x}" y1="{y}" x2="{x + 30}" y2="{y}" stroke="{colour}" stroke-width="3"'
            f'{dash_attr}/><text x="{x + 36}" y="{y + 4}" font-size="12" fill="#1d2327">'
            f"{escape(str(STATUS_LABELS[status]))}</text>"
        )
    return f'<g aria-hidden="true">{"".join(parts)}</g>'


def family_svg(family: Family, link: Callable[[str], str], title: str) -> Markup:
    """``link(person_id)`` gives each box its address (that person's own family view)."""
    row = generations(family)
    rows: dict[int, list[Person]] = defaultdict(list)
    for person_id, generation in row.items():
        if person_id in family.persons:
            rows[generation].append(family.persons[person_id])
    for people in rows.values():
        people.sort(key=lambda p: (p.id != family.centre.id, p.registry_number))
    widest = max(len(p) for p in rows.values())
    width = max(
        2 * MARGIN + widest * (NODE_W + GAP_X) + 2 * NODE_W,  # room for bowed lines
        2 * MARGIN + 3 * _legend_column(),
    )
    top = min(rows)
    centres: dict[str, tuple[int, int]] = {}
    nodes = []
    for generation, people in sorted(rows.items()):
        span = len(people) * (NODE_W + GAP_X) - GAP_X
        x0 = (width - span) // 2
        y = MARGIN + 40 + (generation - top) * ROW_H
        for i, person in enumerate(people):
            x = x0 + i * (NODE_W + GAP_X)
            centres[person.id] = (x + NODE_W // 2, y + NODE_H // 2)
            nodes.append(_node(person, x, y, person.id == family.centre.id, link(person.id)))
    edges: list[str] = []
    seen_pairs: Counter[frozenset[str]] = Counter()
    for r in family.relationships:
        if r.person_id in centres and r.relative_id in centres:
            pair = frozenset(r.person_ids)
            edges.append(_edge(r, centres[r.person_id], centres[r.relative_id], seen_pairs[pair]))
            seen_pairs[pair] += 1
    height = MARGIN + 40 + (max(rows) - top) * ROW_H + NODE_H + SIBLING_ARCS + LEGEND_H
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="group" aria-labelledby="family-title" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" preserveAspectRatio="xMidYMin meet">'
        f'<title id="family-title">{escape(title)}</title>'
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>'
        f"{''.join(edges)}{''.join(nodes)}{_legend(height - LEGEND_H + 14)}</svg>"
    )
    return Markup(svg)
