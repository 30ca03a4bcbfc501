"""Every notebook, top to bottom in a real Jupyter kernel, as a reader's *Run all* runs it.

Each notebook runs with nbclient on an ipykernel (the kernel Jupyter, JupyterLab and Colab use), from nbs/ as its
working folder. Cells flagged with one of nbdev's test flags in pyproject.toml (`tst_flags`: hub, gpu, slow) and
cells marked `#| eval: false` are left out, as nbdev-test leaves them out. A notebook that uses neochat's Colab
session in the cells a CPU run keeps, outside its exported definitions (it calls `notebook_run`, `mount_drive` or
`in_colab`, or imports `google.colab`), runs a second time as if in Google Colab: the stand-in `google.colab` of tests/colab_stub is imported at start-up, and Colab's
/content (with Drive mounted in it) lies under a temporary folder.

The kernel's own live display is what makes this stricter than nbdev-test (execnb, no frontend): a widget adds its
view to a cell's outputs, and `display` goes to a real frontend protocol."""
import os, re, tomllib
from pathlib import Path
import nbformat, pytest
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT/"nbs"
STUB = Path(__file__).parent/"colab_stub"
FLAGS = tomllib.loads((ROOT/"pyproject.toml").read_text())["tool"]["nbdev"]["tst_flags"].split()
COLAB_WORDS = ("google.colab", "notebook_run(", "mount_drive(", "in_colab(")


def skipped(source:str)->bool:
    "Is a cell with `source` left out of test runs (a test flag, or `eval: false`)?"
    directives = [l[3:].strip() for l in source.splitlines() if l.startswith("#|")]
    return any(d in FLAGS or re.fullmatch(r"eval:\s*false", d) for d in directives)


def runnable(path:Path):
    "The notebook at `path` without the cells test runs leave out."
    nb = nbformat.read(path, as_version=4)
    nb.cells = [c for c in nb.cells if not (c.cell_type == "code" and skipped(c.source))]
    return nb


def uses_colab(path:Path)->bool:
    "Does the notebook take a Colab branch of neochat's (so that it runs in Colab mode too)?"
    text = "\n".join(c.source for c in runnable(path).cells if c.cell_type == "code" and not c.source.startswith("#| export"))
    return any(w in text for w in COLAB_WORDS)


NOTEBOOKS = sorted(p for p in NBS.glob("*.ipynb") if not p.name.startswith("_"))


def test_flags_are_read():
    assert {"hub", "gpu", "slow"} <= set(FLAGS)
    assert skipped("#| gpu\nx = 1") and skipped("#| eval: false\nx") and not skipped("#| export\nx = 1")
    assert uses_colab(NBS/"07_chat_widget.ipynb") and not uses_colab(NBS/"00_config.ipynb")


def run_all(path:Path, colab:bool, tmp_path:Path, monkeypatch):
    "Run all of the notebook at `path` in a live kernel (as if in Colab when `colab`): every cell that test runs keep passes."
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TQDM_DISABLE", "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    if colab:
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(STUB), os.environ.get("PYTHONPATH")])))
        monkeypatch.setenv("NEOCHAT_COLAB_ROOT", str(tmp_path))
    nb = runnable(path)
    # The kernel talks over Unix sockets under tmp_path: over TCP, jupyter_client picks free ports and frees them
    # before the kernel binds them, so the other xdist process's kernel could take one first ("Address already in use").
    km = KernelManager(kernel_name="python3", transport="ipc", ip=str(tmp_path/"kernel"))
    client = NotebookClient(nb, km=km, timeout=900, resources={"metadata": {"path": str(NBS)}})
    try: client.execute()
    except CellExecutionError as e: pytest.fail(f"{path.name}{' (Colab mode)' if colab else ''}: {e}", pytrace=False)


# One class per notebook and mode, so that test.sh's two processes (pytest-xdist's --dist loadscope, which keeps a
# class, or a file's plain functions, in one process) share the notebooks out between them.
for _path in NOTEBOOKS:
    for _colab in ((False, True) if uses_colab(_path) else (False,)):
        _name = "Test_" + _path.stem + ("_colab" if _colab else "")
        globals()[_name] = type(_name, (), {"test_run_all": lambda self, tmp_path, monkeypatch, path=_path, colab=_colab:
                                                           run_all(path, colab, tmp_path, monkeypatch)})
