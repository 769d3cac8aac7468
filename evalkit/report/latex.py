"""LaTeX (booktabs) rendering of a comparison: a standalone document whose tables can be pasted into a paper."""
from __future__ import annotations

from evalkit.report.comparison import Comparison
from evalkit.report.tables import MARK, Section, sections, settings_line

_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
            "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"\textless{}",
            ">": r"\textgreater{}", MARK: r"\textsuperscript{\dag}", "Δ": r"$\Delta$", "×": r"$\times$",
            "−": "-", "–": "--", "·": ";", "∅": r"$\emptyset$", "`": ""}


def escape(text: str) -> str:
    """Text safe in LaTeX (pdflatex): specials escaped, the report's few non-ASCII symbols as macros."""
    return "".join(_SPECIAL.get(ch, ch) for ch in str(text))


def table(section: Section) -> str:
    spec = "l" * 2 + "r" * (len(section.header) - 2)
    lines = [r"\begin{table}[htbp]", r"\centering", r"\small",
             rf"\caption{{{escape(section.title)}. {escape(section.note)}. Protocol: {escape(section.protocol)}.}}",
             rf"\begin{{tabular}}{{{spec}}}", r"\toprule",
             " & ".join(escape(h) for h in section.header) + r" \\", r"\midrule"]
    lines += [" & ".join(escape(cell) for cell in row) + r" \\" for row in section.rows]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}", ""]
    return "\n".join(lines)


def render_latex(c: Comparison, title: str) -> str:
    parts = [r"\documentclass{article}", r"\usepackage[T1]{fontenc}", r"\usepackage[utf8]{inputenc}",
             r"\usepackage{booktabs}", r"\usepackage[margin=1.5cm,landscape]{geometry}", r"\begin{document}",
             rf"\section*{{{escape(title)}}}", escape(settings_line(c)), ""]
    parts += [table(s) for s in sections(c)]
    parts.append(r"\end{document}")
    return "\n".join(parts) + "\n"
