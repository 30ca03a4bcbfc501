"""The chat widget's browser side, `neochat/static/chat_widget.js` and `.css`: hand-written files that anywidget loads by
path, so no Python string literal (and no notebook cell) checks their syntax. A broken file would show as an empty
widget in the browser; these catch it here. (What the module does is tested in nbs/07_chat_widget.ipynb, and in a
browser by tests/test_browser.py.)"""
import shutil, subprocess
import pytest
from neochat.widget import CSS, ESM, ChatView, conversation_html

NODE = shutil.which("node")


def test_files_are_in_the_package():
    for p in (ESM, CSS):
        assert p.is_file() and p.parent.name == "static" and p.parent.parent.name == "neochat", p
        assert "assets" not in p.parts  # (neochat/assets keys the training cache; these files must not)


@pytest.mark.skipif(NODE is None, reason="node is not installed: cannot check that chat_widget.js parses")
def test_javascript_parses(tmp_path):
    module = tmp_path/"chat_widget.mjs"  # (.mjs: node parses it as the ES module anywidget loads)
    module.write_text(ESM.read_text())
    r = subprocess.run([NODE, "--check", str(module)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "export default { render };" in ESM.read_text()


def test_javascript_keeps_keys_from_the_notebook():
    js = ESM.read_text()  # (Notebook 7 and JupyterLab shortcuts: see "The front end" in 07_chat_widget)
    assert 'el.setAttribute("data-lm-suppress-shortcuts", "true");' in js
    assert "for (const type of KEY_EVENTS) el.addEventListener(type, ownKeys, true);" in js
    assert "e.stopPropagation();" in js


def test_css_braces_balance():
    css, depth = CSS.read_text(), 0
    for ch in css:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0, "a '}' closes nothing"
    assert depth == 0, f"{depth} '{{' never closed"
    assert css.count("/*") == css.count("*/")


def test_anywidget_serves_the_files():
    v = ChatView()
    assert (v._esm, v._css) == (ESM.read_text(), CSS.read_text())
    assert CSS.read_text() in conversation_html([])  # the static picture carries the same stylesheet
