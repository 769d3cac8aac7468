"""One self-contained HTML file: tables plus PNG plots embedded as base64; no scripts, no external resources."""
from __future__ import annotations

import base64
from html import escape

from evalkit.report.comparison import Comparison
from evalkit.report.plots import all_plots
from evalkit.report.tables import Section, sections, settings_line

STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border-bottom: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
thead th { border-bottom: 2px solid #444; }
.protocol { font-family: monospace; font-size: 0.8em; color: #555; }
.note { font-style: italic; font-size: 0.85em; }
img { display: block; max-width: 100%; margin: 0.5em 0 2em; }
"""


def _table(section: Section) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in section.header)
    body = "".join("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in section.rows)
    return (f"<h2>{escape(section.title)}</h2>\n<p class=\"protocol\">Protocol: {escape(section.protocol)}</p>\n"
            f"<p class=\"note\">{escape(section.note)}</p>\n<table><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>\n")


def render_html(c: Comparison, title: str) -> str:
    protocol = "".join(f"<tr><td>{escape(str(k))}</td><td>{escape(str(v))}</td></tr>" for k, v in c.protocol.items())
    images = "".join(f"<h3>{escape(name)}</h3>\n<img alt=\"{escape(name)}\" "
                     f"src=\"data:image/png;base64,{base64.b64encode(png).decode('ascii')}\">\n"
                     for name, png in all_plots(c).items())
    return (f"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<link rel=\"icon\" href=\"data:,\">\n<title>{escape(title)}</title>\n"
            f"<style>{STYLE}</style>\n</head>\n<body>\n<h1>{escape(title)}</h1>\n"
            f"<p>{escape(settings_line(c))}</p>\n<h2>Protocol</h2>\n<table>{protocol}</table>\n"
            + "".join(_table(s) for s in sections(c)) + f"<h2>Plots</h2>\n{images}</body>\n</html>\n")
