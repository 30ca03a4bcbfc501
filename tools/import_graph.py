"""The import graph between neochat's modules, read from the code with `ast` (standard library only).

Imports inside functions count as much as those at the top of a module: they are where a module reaches up to a
layer above it. `python tools/import_graph.py [ROOT]` prints a short report; tests/test_structure.py and
nbs/architecture.ipynb use the functions."""
import ast, json, re, sys
from pathlib import Path

PKG, LIMIT = "neochat", 400  # the package, and the size (lines) a module should stay under

def modules(root) -> dict:
    "`{module: path}` for every `neochat/*.py` of the project at `root`, without `__init__` and `_modidx`."
    return {p.stem: p for p in sorted((Path(root)/PKG).glob("*.py")) if p.stem not in ("__init__", "_modidx")}

def imported_names(path, mods) -> list:
    "`(module, name)` for each neochat module in `mods` that the file at `path` imports (`name`: None for the module)."
    found = []
    for node in ast.walk(ast.parse(Path(path).read_text())):
        if isinstance(node, ast.Import):  # import neochat.x (as y)
            found += [(a.name.split(".")[1], None) for a in node.names if a.name.startswith(PKG + ".")]
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if node.level == 0 and mod.startswith(PKG + "."): found += [(mod.split(".")[1], a.name) for a in node.names]
            elif node.level == 1 and mod: found += [(mod.split(".")[0], a.name) for a in node.names]
            elif (node.level == 1 and not mod) or (node.level == 0 and mod == PKG):  # from . import x / from neochat import x
                found += [(a.name, None) for a in node.names if a.name in mods]  # `__version__` is the package's, not a module's
    return [(m, n) for m, n in found if m in mods]

def graph(root) -> dict:
    "`{module: {neochat modules it imports}}` (inside functions too) for the project at `root`."
    mods = modules(root)
    return {m: {i for i, _ in imported_names(p, mods)} - {m} for m, p in mods.items()}

def notebook_order(nbs_dir) -> dict:
    "`{module: notebook file}` from each notebook's `#| default_exp NAME`, in reading order (the notebooks' names)."
    order = {}
    for nb in sorted(Path(nbs_dir).glob("*.ipynb")):
        for cell in json.loads(nb.read_text())["cells"]:
            m = re.search(r"^#\|\s*default_exp\s+(\S+)", "".join(cell["source"]), re.M)
            if cell["cell_type"] == "code" and m: order[m.group(1)] = nb.name; break
    return order

def cycles(g) -> list:
    "The groups of modules that import each other in a circle (strongly connected components of more than one module)."
    index, low, stack, groups = {}, {}, [], []
    def visit(m):  # Tarjan's algorithm
        index[m] = low[m] = len(index); stack.append(m)
        for n in sorted(g.get(m, ())):
            if n not in index: visit(n); low[m] = min(low[m], low[n])
            elif n in stack: low[m] = min(low[m], index[n])
        if low[m] == index[m]:
            group = set()
            while not group or m not in group: group.add(stack.pop())
            if len(group) > 1: groups.append(sorted(group))
    for m in sorted(g):
        if m not in index: visit(m)
    return sorted(groups)

def cycle_path(g, group) -> list:
    "One circle through the modules of `group` (a result of `cycles`), from its first module back to it."
    start, members = group[0], set(group)
    def walk(path):
        for n in sorted(g[path[-1]] & members):
            if n == start and len(path) > 1: return path + [n]
            if n not in path and (found := walk(path + [n])): return found
    return walk([start])

def upward(g, order) -> list:
    "`(module, imported)` for each import of a module that comes later in reading order (`order`: `notebook_order`)."
    rank = {m: i for i, m in enumerate(order)}
    return sorted((m, n) for m in g for n in g[m] if m in rank and n in rank and rank[n] > rank[m])

def levels(g) -> dict:
    "`{module: level}`: 0 imports no neochat module, else one more than the highest it imports; a cycle's modules share one."
    group_of = {m: frozenset([m]) for m in g} | {m: frozenset(c) for c in cycles(g) for m in c}
    level = {}
    def of(group):  # a cycle counts as one module: its level is one more than the highest any of its modules imports
        if group not in level:
            level[group] = 1 + max((of(group_of[n]) for m in group for n in g[m] if n not in group), default=-1)
        return level[group]
    return {m: of(group_of[m]) for m in sorted(g)}

def sizes(root) -> dict:
    "`{module: lines}` for the project at `root`."
    return {m: len(p.read_text().splitlines()) for m, p in modules(root).items()}

def private_uses(root) -> list:
    "`(module, from_module, name)` for each `_name` a module imports from another neochat module."
    mods = modules(root)
    return sorted({(m, f, n) for m, p in mods.items() for f, n in imported_names(p, mods)
                   if n and n.startswith("_") and not n.startswith("__") and f != m})

def section(title, items) -> list:
    "A report's section: `title` then one indented line per item (or `title none`)."
    return [title + ("" if items else " none")] + [f"  {i}" for i in items]

def report(root) -> str:
    "The short report `python tools/import_graph.py` prints."
    g, order, size = graph(root), notebook_order(Path(root)/"nbs"), sizes(root)
    by_level = {}
    for m, l in levels(g).items(): by_level.setdefault(l, []).append(m)
    large = [f"{m} {n}" for m, n in sorted(size.items(), key=lambda x: -x[1]) if n > LIMIT]
    return "\n".join([f"{len(g)} modules, {sum(size.values())} lines; over {LIMIT}: {', '.join(large) or 'none'}"]
        + section("levels (0 imports no neochat module; a cycle's modules share one):", [f"{l}: {', '.join(ms)}" for l, ms in sorted(by_level.items())])
        + section("cycles:", [f"{', '.join(c)}, e.g. {' -> '.join(cycle_path(g, c))}" for c in cycles(g)])
        + section("upward imports (against reading order):", [f"{m} ({order[m]}) -> {n} ({order[n]})" for m, n in upward(g, order)])
        + section("private names used across modules:", [f"{m} uses {f}.{n}" for m, f, n in private_uses(root)]))

if __name__ == "__main__":
    print(report(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent))
