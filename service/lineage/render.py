"""Lineage drawn as text: Mermaid flowcharts and Graphviz DOT."""

from schemas import Lineage


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def to_mermaid(lineage: Lineage) -> str:
    # Arrows always point from input to output; an upstream trace reads bottom-up to its root.
    lines = ["flowchart " + ("BT" if lineage.direction == "up" else "TB")]
    ids = {node.code: f"n{i}" for i, node in enumerate(lineage.nodes)}
    for node in lineage.nodes:
        label = "<br/>".join(_mermaid_text(part) for part in (node.code, node.type))
        if node.status == "voided":
            label += "<br/>(voided)"
        lines.append(f'    {ids[node.code]}["{label}"]')
    for edge in lineage.edges:
        label = _mermaid_text(f"{edge.role} · {edge.protocol}" + (" · deviating" if edge.deviating else ""))
        lines.append(f'    {ids[edge.source]} -->|"{label}"| {ids[edge.target]}')
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _deviating(flag: bool) -> str:
    return "\n(deviating)" if flag else ""


def to_dot(lineage: Lineage) -> str:
    lines = [
        "digraph lineage {",
        f"    rankdir={'BT' if lineage.direction == 'up' else 'TB'};",
        "    node [shape=box, fontname=Helvetica];",
    ]
    for node in lineage.nodes:
        style = ", style=dashed" if node.status == "voided" else ""
        lines.append(
            f'    "{_dot_text(node.code)}" [label="{_dot_text(node.code + chr(10) + node.type)}"{style}];'
        )
    for edge in lineage.edges:
        lines.append(
            f'    "{_dot_text(edge.source)}" -> "{_dot_text(edge.target)}" '
            f'[label="{_dot_text(edge.role + chr(10) + edge.protocol + _deviating(edge.deviating))}"];'
        )
    lines.append("}")
    return "\n".join(lines) + "\n"
