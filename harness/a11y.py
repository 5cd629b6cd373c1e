"""Accessibility checks in a real browser: axe-core (bundled by axe-playwright-python) with the WCAG 2.x A/AA rules."""

from __future__ import annotations

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]


def violations(page, context: str | dict | None = None) -> list[dict]:
    """axe-core's WCAG 2.0/2.1/2.2 A and AA violations on the page as it is now, each {id, impact, nodes: [html]}."""
    from axe_playwright_python.sync_playwright import Axe

    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
    found = Axe().run(page, context=context, options=options).response["violations"]
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [(n["html"][:160], n.get("failureSummary", "")[:200]) for n in v["nodes"]],
        }
        for v in found
    ]


def summary(found: list[dict]) -> str:
    """One line per violated rule with its first offending elements (for an assertion message)."""
    return "\n".join(
        f"{v['id']} ({v['impact']}, {len(v['nodes'])} nodes): {v['help']}\n    "
        + "\n    ".join(map(str, v["nodes"][:4]))
        for v in found
    )
