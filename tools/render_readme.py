#!/usr/bin/env python
"""Render README.md from nbs/index.ipynb without Quarto.

nbdev's own `nbdev-readme` needs Quarto, which cannot be installed everywhere neochat is built. This does the same
job with nbconvert: cells marked `#| hide` are left out, `#|` directive lines are dropped, `#| echo: false` keeps
only a cell's output, and the rest is converted by nbconvert's MarkdownExporter.

    python tools/render_readme.py          # write README.md
    python tools/render_readme.py --check  # exit 1 if README.md differs from what index.ipynb renders to
"""
import re, sys
from pathlib import Path
import nbformat
from nbconvert import MarkdownExporter

ROOT = Path(__file__).resolve().parent.parent
DIRECTIVE = re.compile(r"^\s*#\|\s*(.*)$")

def _directives(cell):
    return [m.group(1).strip() for l in cell.source.splitlines() if (m := DIRECTIVE.match(l))]

def render(nb_path=ROOT/"nbs"/"index.ipynb") -> str:
    "README markdown for the notebook at `nb_path`."
    nb = nbformat.read(nb_path, as_version=4)
    cells = []
    for c in nb.cells:
        d = _directives(c)
        if "hide" in d or any(x.split()[0] in ("hub", "gpu", "slow", "export") for x in d if x): continue
        if c.cell_type == "code":
            c.source = "\n".join(l for l in c.source.splitlines() if not DIRECTIVE.match(l)).strip()
            if "echo: false" in d: c.source = ""
        cells.append(c)
    nb.cells = cells
    exp = MarkdownExporter()
    exp.exclude_input_prompt = exp.exclude_output_prompt = True
    body, _ = exp.from_notebook_node(nb)
    body = re.sub(r"\n{3,}", "\n\n", body).strip() + "\n"
    return "<!-- Rendered from nbs/index.ipynb by tools/render_readme.py: edit the notebook, not this file. -->\n\n" + body

if __name__ == "__main__":
    out, readme = render(), ROOT/"README.md"
    if "--check" in sys.argv:
        if not readme.exists() or readme.read_text() != out:
            sys.exit("README.md is out of date with nbs/index.ipynb: run python tools/render_readme.py")
        print("README.md matches nbs/index.ipynb")
    else:
        readme.write_text(out)
        print(f"wrote {readme}")
