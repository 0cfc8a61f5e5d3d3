"""The upstream lineage as a picture: a small layered layout drawn as inline SVG (Graphviz is not on every lab
server, and the tree is small). Received lots at the top, the item itself at the bottom; each box links to
its item, each arrow is labelled with the input role and a deviating step's arrow is drawn in red."""

from urllib.parse import quote
from xml.sax.saxutils import escape, quoteattr

from schemas import Lineage

BOX_W, BOX_H, GAP_X, GAP_Y, PAD = 150, 34, 24, 46, 8
MAX_NODES = 150  # a larger graph is read as the tree beside it
ROOT, EDGE = "#1f6f8b", "#aab4c0"  # the item's own box stands out
FILL = {"lot": "#eef4fb", "material": "#f3f7ee", "cell": "#fdf3e6"}


def _levels(lineage: Lineage) -> dict[str, int]:
    """Each node's layer: the longest way down to the item, so every arrow points down (an item used at two
    depths, like a solvent, sits above both of its uses)."""
    level = {n.code: 0 if n.code == lineage.root else n.depth for n in lineage.nodes}
    for _ in range(len(level)):  # relax until nothing moves; the graph is acyclic
        moved = False
        for edge in lineage.edges:
            if edge.source in level and edge.target in level and level[edge.source] <= level[edge.target]:
                level[edge.source] = level[edge.target] + 1
                moved = True
        if not moved:
            break
    return level


def _order(lineage: Lineage) -> list[list[str]]:
    """Nodes per layer, top (furthest upstream) first; within a layer by the order of their children."""
    depth = _levels(lineage)
    deepest = max(depth.values(), default=0)
    layers: list[list[str]] = [[] for _ in range(deepest + 1)]
    children: dict[str, list[str]] = {}
    for edge in lineage.edges:
        children.setdefault(edge.source, []).append(edge.target)
    placed: dict[str, float] = {lineage.root: 0.0}
    layers[deepest].append(lineage.root)
    # From the item upwards, each layer ordered by where its children sit (a barycentre pass).
    for level in range(1, deepest + 1):
        codes = [code for code, d in depth.items() if d == level]

        def centre(code: str) -> float:
            below = [placed[c] for c in children.get(code, []) if c in placed]
            return sum(below) / len(below) if below else 0.0

        codes.sort(key=lambda code: (centre(code), code))
        for index, code in enumerate(codes):
            placed[code] = float(index)
        layers[deepest - level] = codes
    return layers


def lineage_svg(lineage: Lineage) -> str | None:
    """The picture, or None when there is nothing upstream or too much to draw legibly."""
    if not lineage.edges or len(lineage.nodes) > MAX_NODES:
        return None
    nodes = {n.code: n for n in lineage.nodes}
    layers = _order(lineage)
    widest = max(len(layer) for layer in layers)
    width = PAD * 2 + widest * BOX_W + (widest - 1) * GAP_X
    height = PAD * 2 + len(layers) * BOX_H + (len(layers) - 1) * GAP_Y
    where: dict[str, tuple[float, float]] = {}
    for row, layer in enumerate(layers):
        span = len(layer) * BOX_W + (len(layer) - 1) * GAP_X
        left = (width - span) / 2
        for column, code in enumerate(layer):
            where[code] = (left + column * (BOX_W + GAP_X), PAD + row * (BOX_H + GAP_Y))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="lineage-graph" id="lineage-graph" '
        f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        f'aria-label="lineage of {escape(lineage.root)}">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#5f6b7a"/></marker></defs>',
    ]
    for edge in lineage.edges:
        if edge.source not in where or edge.target not in where:
            continue
        (sx, sy), (tx, ty) = where[edge.source], where[edge.target]
        x1, y1, x2, y2 = sx + BOX_W / 2, sy + BOX_H, tx + BOX_W / 2, ty
        colour = "#a33" if edge.deviating else "#5f6b7a"
        parts.append(
            f'<a href="/ui/steps/{edge.step}"><title>{escape(edge.role)} ← {escape(edge.protocol)} '
            f"(step {edge.step}{', deviating' if edge.deviating else ''})</title>"
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}" '
            f'stroke-width="1.3" marker-end="url(#arrow)"/>'
            f'<text x="{(x1 + x2) / 2 + 3:.1f}" y="{(y1 + y2) / 2:.1f}" font-size="10" fill="{colour}">'
            f"{escape(edge.role)}</text></a>"
        )
    for code, (x, y) in where.items():
        node = nodes[code]
        label = code if len(code) <= 22 else code[:21] + "…"
        kind_type = node.type if len(node.type) <= 26 else node.type[:25] + "…"
        parts.append(
            f"<a href={quoteattr('/ui/items/' + quote(code, safe=''))}>"
            f"<title>{escape(code)} · {escape(node.type)}</title>"
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{BOX_W}" height="{BOX_H}" rx="4" '
            f'fill="{FILL.get(node.kind, "#fff")}" stroke="{ROOT if code == lineage.root else EDGE}"/>'
            f'<text x="{x + 6:.1f}" y="{y + 14:.1f}" font-size="12" font-weight="bold" fill="#1d2430">'
            f"{escape(label)}</text>"
            f'<text x="{x + 6:.1f}" y="{y + 27:.1f}" font-size="10" fill="#5f6b7a">'
            f"{escape(kind_type)}</text></a>"
        )
    parts.append("</svg>")
    return "".join(parts)
