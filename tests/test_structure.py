"""The package's structure, checked against the layers of the architecture page (nbs/architecture.ipynb): no import
cycle, no import of a module that comes later in reading order (imports inside functions included), no module over
ig.LIMIT lines, no private name used across modules. Each KNOWN_* list names an allowed exception; all are empty, and
a change that needs one must argue for it here.

The tool that reads the structure, tools/import_graph.py, is tested first on a tiny package with known answers."""
import sys, textwrap
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/"tools"))
import import_graph as ig

KNOWN_CYCLES = []  # import cycles (each a group of modules that import each other)
KNOWN_UPWARD = set()  # (module, later module it imports)
KNOWN_LARGE = {}  # module: its cap in lines, where it may exceed ig.LIMIT
KNOWN_PRIVATE = set()  # (module, module it takes a private name from, the name)


@pytest.fixture(scope="module")
def real(): return ig.graph(ROOT)


def test_no_new_cycle(real):
    new = [c for c in ig.cycles(real) if not any(set(c) <= k for k in KNOWN_CYCLES)]
    assert not new, f"new import cycles: {[' -> '.join(ig.cycle_path(real, c)) for c in new]}"


def test_no_new_upward_import(real):
    new = set(ig.upward(real, ig.notebook_order(ROOT/"nbs"))) - KNOWN_UPWARD
    assert not new, f"imports against reading order: {sorted(new)}"


def test_no_module_grows_past_its_cap():
    over = {m: n for m, n in ig.sizes(ROOT).items() if n > KNOWN_LARGE.get(m, ig.LIMIT)}
    assert not over, f"modules over their cap ({ig.LIMIT} lines, or their size in KNOWN_LARGE): {over}"


def test_no_new_private_use():
    new = set(ig.private_uses(ROOT)) - KNOWN_PRIVATE
    assert not new, f"private names used across modules: {sorted(new)}"


def test_every_module_has_a_notebook(real):
    assert set(real) <= set(ig.notebook_order(ROOT/"nbs"))


def write(root:Path, files:dict):
    "Write each `{path: source}` of `files` under `root` (the source dedented)."
    for path, source in files.items():
        (root/path).parent.mkdir(parents=True, exist_ok=True)
        (root/path).write_text(textwrap.dedent(source))


def notebook(name:str)->str:
    return '{"cells": [{"cell_type": "code", "source": ["#| default_exp %s\\n", "import x"]}]}' % name


@pytest.fixture
def tiny(tmp_path):
    "A package `neochat` of five modules: a (bottom), b, c, d read in that order; b <-> c a cycle; a imports d upward."
    write(tmp_path, {
        "neochat/__init__.py": "__version__ = '0'\n",
        "neochat/_modidx.py": "from .a import x\n",  # skipped
        "neochat/a.py": "from . import __version__\ndef f():\n    import neochat.d\n",  # upward, inside a function
        "neochat/b.py": "from .a import f\nfrom neochat.c import g\n",
        "neochat/c.py": "def g():\n    from neochat.b import _h\n    from . import a\n",  # cycle, private, from . import
        "neochat/d.py": "import os\nfrom neochat import b\nfrom .c import g  # noqa\n" + "x = 1\n" * 5,
        "nbs/00_a.ipynb": notebook("a"), "nbs/01_b.ipynb": notebook("b"), "nbs/01a_c.ipynb": notebook("c"),
        "nbs/02_d.ipynb": notebook("d"), "nbs/index.ipynb": '{"cells": [{"cell_type": "markdown", "source": ["# x"]}]}'})
    return tmp_path


def test_tool_on_a_tiny_package(tiny):
    g = ig.graph(tiny)
    assert g == {"a": {"d"}, "b": {"a", "c"}, "c": {"a", "b"}, "d": {"b", "c"}}
    order = ig.notebook_order(tiny/"nbs")
    assert order == {"a": "00_a.ipynb", "b": "01_b.ipynb", "c": "01a_c.ipynb", "d": "02_d.ipynb"}
    assert list(order) == ["a", "b", "c", "d"]
    assert ig.cycles(g) == [["a", "b", "c", "d"]]  # a -> d -> b -> a closes a circle through all four
    assert ig.upward(g, order) == [("a", "d"), ("b", "c")]
    assert ig.private_uses(tiny) == [("c", "b", "_h")]
    assert ig.sizes(tiny) == {"a": 3, "b": 2, "c": 3, "d": 8}


def test_levels_and_cycles_without_the_circle(tiny):
    write(tiny, {"neochat/a.py": "import os\n"})  # a imports nothing now: only b <-> c is a circle
    g = ig.graph(tiny)
    assert ig.cycles(g) == [["b", "c"]]
    assert ig.cycle_path(g, ["b", "c"]) == ["b", "c", "b"]
    assert ig.levels(g) == {"a": 0, "b": 1, "c": 1, "d": 2}
    assert ig.upward(g, ig.notebook_order(tiny/"nbs")) == [("b", "c")]
    assert ig.levels({"x": set(), "y": {"x"}, "z": {"y", "x"}}) == {"x": 0, "y": 1, "z": 2}
    assert ig.cycles({"x": set(), "y": {"x"}}) == []


def test_report_runs(tiny):
    text = ig.report(tiny)
    assert "cycles:\n  a, b, c, d, e.g. a -> d -> b -> a" in text and "c uses b._h" in text
