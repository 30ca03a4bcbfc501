"""The literate project holds together: README matches index.ipynb, the package matches the notebooks, the
notebooks are clean, and nbdev's processing for the docs site runs without errors (Quarto itself cannot run here)."""
import shutil, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _git_status(*paths):
    return subprocess.run(["git", "status", "--porcelain", "--", *paths], cwd=ROOT, capture_output=True, text=True).stdout


def test_readme_is_rendered_from_index():
    res = subprocess.run([sys.executable, "tools/render_readme.py", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr + res.stdout


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="needs the git checkout")
def test_export_and_clean_leave_no_changes():
    before = _git_status("neochat", "nbs")
    for cmd in (["nbdev-export"], ["nbdev-clean"]):
        subprocess.run([str(Path(sys.executable).parent / cmd[0])], cwd=ROOT, check=True, capture_output=True)
    assert _git_status("neochat", "nbs") == before, "nbdev-export / nbdev-clean changed files: package or notebooks out of sync"


def test_docs_processing_runs_clean(tmp_path):
    "nbdev's notebook processing before Quarto renders (frontmatter, show_doc, directives) works on every notebook."
    proj = tmp_path / "proj"
    shutil.copytree(ROOT / "nbs", proj / "nbs", ignore=shutil.ignore_patterns("*.py", "_proc", ".ipynb_checkpoints"))
    shutil.copy(ROOT / "pyproject.toml", proj)
    shutil.copytree(ROOT / "neochat", proj / "neochat")
    res = subprocess.run([str(Path(sys.executable).parent / "nbdev-proc-nbs"), "--n-workers", "0"], cwd=proj,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "Traceback" not in res.stderr, res.stderr[-3000:]
    for f in ("nbdev.yml", "_quarto.yml"):  # what nbdev generates for the site is committed as it generates it
        assert (proj/"nbs"/f).read_text() == (ROOT/"nbs"/f).read_text(), f"nbdev-proc-nbs rewrites nbs/{f}: commit what it writes"
    done = {p.name for p in (proj / "_proc").rglob("*.ipynb")}
    assert {p.name for p in (ROOT / "nbs").glob("[0-9]*.ipynb")} <= done
