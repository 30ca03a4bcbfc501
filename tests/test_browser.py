"""The chat widget in a real browser: JupyterLab on 127.0.0.1 serves a small notebook with five chat widgets (one on a
tiny trained run, four on scripted models), Debian's Chromium (driven by Playwright) runs it and checks what a person
would: sending, streaming, Stop, Retry, Undo, Clear, the settings, HTML in messages staying text, markdown, the pane
following a long reply, fast typing, Shift+Enter, pasting, and both themes. One JupyterLab and one page serve every check.
The same server also serves Notebook 7 (the `notebook` package's UI, at /notebooks/): a second page opens a second
notebook there, on the first one's kernel, and checks that keys typed into the chat (Shift+Enter, Ctrl+Enter, Escape,
A, B, D D) stay the chat's and never reach the notebook's shortcuts, as in JupyterLab.

It takes a screenshot: into the test's temporary folder, or, with NEOCHAT_UPDATE_SCREENSHOT=1, over the one that the
README shows (docs/images/chat_widget.png), so that a plain test run leaves the checkout as it was.

Needs `jupyterlab`, `notebook` (for the Notebook 7 check), `playwright` (pip) and Chromium at /usr/bin/chromium
(apt-get install chromium); Playwright's own browser download is not used. Skipped, with the reason, when one of them
is missing, unless NEOCHAT_REQUIRE_BROWSER=1 (as in CI), where a missing piece fails the test.

With NEOCHAT_COLAB_PYTHON set to a Python with Colab's kernel (ipykernel 6; neochat's other dependencies may come from
this environment, e.g. by a .pth file), a second notebook runs on it in Colab mode and checks Stop in the foreground:
    python -m venv /tmp/colabk && /tmp/colabk/bin/pip install ipykernel==6.17.1 ipython==7.34.0
    python -c "import site; print(site.getsitepackages()[0])" > /tmp/colabk/lib/python3.11/site-packages/zz_deps.pth
    NEOCHAT_COLAB_PYTHON=/tmp/colabk/bin/python pytest tests/test_browser.py"""
import json, os, signal, subprocess, sys, time, urllib.request
from pathlib import Path
import pytest
from browsing import free_port, wait_until

CHROMIUM = os.environ.get("NEOCHAT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
README_SCREENSHOT = Path(__file__).resolve().parents[1]/"docs"/"images"/"chat_widget.png"


def _missing():
    if not Path(CHROMIUM).exists(): return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    try: import playwright.sync_api  # noqa: F401
    except ImportError: return "playwright is not installed (pip install playwright)"
    try: import jupyterlab  # noqa: F401
    except ImportError: return "jupyterlab is not installed (pip install jupyterlab)"
    return None


def _notebook7_missing():
    try: import notebook  # noqa: F401
    except ImportError: return "notebook (Notebook 7) is not installed (pip install notebook)"
    return None


MISSING, NOTEBOOK7_MISSING = _missing(), _notebook7_missing()
REQUIRED = os.environ.get("NEOCHAT_REQUIRE_BROWSER") == "1"
pytestmark = pytest.mark.skipif(MISSING is not None and not REQUIRED, reason=str(MISSING))

XSS = '<b>x</b><script>alert(1)</script>'
XSS_REPLY = ' <b>x</b><script>window.neochatXSS=2</script><img src=x onerror="window.neochatXSS=1"> shown as text<|endoftext|>'
IMAGE_URL = "http://127.0.0.1:9/cat.png"  # nothing listens there; a request to it would be recorded
MD_REPLY = (" ## Boiling an egg\n\n**Hard** or *soft*:\n\n- 9 minutes: hard\n- 7 minutes: soft\n\n```python\n"
            "eggs = ['a very long line of code that has to scroll sideways instead of wrapping'] * 12  # and more and more\n```\n\n"
            f"![a cat]({IMAGE_URL})<|endoftext|>")
LONG_REPLY = "\n".join(f" Line {i}: the quick brown fox jumps over the lazy dog." for i in range(60)) + "<|endoftext|>"


def chat_notebook(run_dir):
    "A notebook of four chat widgets, each with a class the test finds it by."
    cells = [
        "from neochat.chat import ChatSession\nfrom neochat.config import GenerationSettings\n"
        "from neochat.testing import ScriptedModel\nfrom neochat.widget import ChatWidget",
        f"session = ChatSession.from_run({str(run_dir)!r}, system='You are a helpful assistant.')\n"
        "session.generation.max_new_tokens = 64\n"
        "ChatWidget(session).add_class('t-run')",
        "tok = session.tokenizer\n"
        "chats = {}\n"
        "def scripted(cls, *replies, delay=0.0):\n"
        "    chats[cls] = ChatWidget(ChatSession(ScriptedModel(tok, list(replies), delay=delay), tok,\n"
        "                                        generation=GenerationSettings(max_new_tokens=1000))).add_class(cls)\n"
        "    return chats[cls]\n"
        f"scripted('t-md', {MD_REPLY!r})",
        f"scripted('t-xss', {XSS_REPLY!r})",
        f"scripted('t-long', {LONG_REPLY!r}, delay=0.004)",
        "scripted('t-keys', ' Okay.<|endoftext|>')",
    ]
    return notebook(cells)


# Opened in Notebook 7 on chat.ipynb's kernel (where `scripted` is defined), so that no second kernel has to start.
KEYS_CELLS = ["scripted('t-keys7', ' Okay.<|endoftext|>')", "'a cell after the chat'"]


def notebook(cells, kernel="python3"):
    return {"cells": [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {}, "outputs": [],
                       "source": src} for i, src in enumerate(cells)],
            "metadata": {"kernelspec": {"display_name": kernel, "language": "python", "name": kernel}},
            "nbformat": 4, "nbformat_minor": 5}


# Colab runs ipykernel 6, where the widget generates in the foreground and Stop works through `widget_message_pump`.
# NEOCHAT_COLAB_PYTHON names a Python with that kernel (and neochat's dependencies); set, the lab gets a kernel on it,
# with the stand-in google.colab imported, and test_colab_kernel_stop runs. (Its ipywidgets must be 8: this lab's
# widget manager no longer draws ipywidgets 7 models, Colab's own does.)
COLAB_PYTHON = os.environ.get("NEOCHAT_COLAB_PYTHON")
COLAB_CELLS = [
    "import ipykernel, ipywidgets\nfrom neochat.chat import ChatSession\nfrom neochat.config import GenerationSettings\n"
    "from neochat.template import gpt_neo_chat_tokenizer\nfrom neochat.testing import ScriptedModel\nfrom neochat.widget import ChatWidget, in_colab\n"
    "assert in_colab(), 'the stand-in google.colab is not imported'\n"
    "print('kernel:', ipykernel.__version__, 'ipywidgets:', ipywidgets.__version__)",
    "tok = gpt_neo_chat_tokenizer()\n"
    "w = ChatWidget(ChatSession(ScriptedModel(tok, [' word' * 1500 + '<|endoftext|>'], delay=0.005), tok,\n"
    "                           generation=GenerationSettings(max_new_tokens=1800))).add_class('t-colab')\n"
    "assert not w.background and w.poll is not None\n"
    "w",
]


def colab_kernel(data_dir):
    "A kernelspec 'colab' on NEOCHAT_COLAB_PYTHON that imports the stand-in google.colab at start."
    spec = data_dir/"kernels"/"colab"
    spec.mkdir(parents=True)
    root = Path(__file__).resolve().parents[1]
    (spec/"kernel.json").write_text(json.dumps({
        "argv": [COLAB_PYTHON, "-m", "ipykernel_launcher", "-f", "{connection_file}"], "display_name": "colab", "language": "python",
        "env": {"PYTHONPATH": os.pathsep.join([str(root), str(root/"tests"/"colab_stub")])}}))


@pytest.fixture(scope="module")
def chat_lab(request, tmp_path_factory):
    "JupyterLab on a free localhost port, token off, rooted in a temporary folder holding chat.ipynb; yields its URL."
    if MISSING: pytest.fail(f"NEOCHAT_REQUIRE_BROWSER=1 but {MISSING}")
    chat_tiny_run = request.getfixturevalue("chat_tiny_run")  # (built only once the browser pieces are known present)
    tmp_path = tmp_path_factory.mktemp("lab")
    root, cfg = tmp_path/"root", tmp_path/"config"
    root.mkdir(); cfg.mkdir()
    (root/"chat.ipynb").write_text(json.dumps(chat_notebook(chat_tiny_run)))
    (root/"keys.ipynb").write_text(json.dumps(notebook(KEYS_CELLS)))
    if COLAB_PYTHON:
        colab_kernel(tmp_path/"data")
        (root/"colab.ipynb").write_text(json.dumps(notebook(COLAB_CELLS, kernel="colab")))
    settings = tmp_path/"lab-settings"/"@jupyterlab"/"apputils-extension"
    settings.mkdir(parents=True)
    (settings/"notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    (cfg/"jupyter_server_config.json").write_text(json.dumps({
        "ServerApp": {"ip": "127.0.0.1", "open_browser": False, "root_dir": str(root), "password": "",
                      "allow_root": True},  # CI containers run as root
        "IdentityProvider": {"token": ""},
        "LabApp": {"expose_app_in_browser": True, "news_url": None,
                   "check_for_updates_class": "jupyterlab.handlers.announcements.NeverCheckForUpdate"},
        "JupyterNotebookApp": {"expose_app_in_browser": True},
        "KernelManager": {"transport": "ipc"}}))  # Unix sockets: no free-port race with the other xdist process's kernels
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]), # the kernel's `python`
               JUPYTER_CONFIG_DIR=str(cfg), JUPYTER_RUNTIME_DIR=str(tmp_path/"runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(tmp_path/"lab-settings"), JUPYTERLAB_WORKSPACES_DIR=str(tmp_path/"lab-workspaces"),
               IPYTHONDIR=str(tmp_path/"ipython"), JUPYTER_PATH=str(tmp_path/"data"))
    port = free_port()
    log = open(tmp_path/"jupyterlab.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "jupyterlab", f"--port={port}", "--no-browser"], cwd=root, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    def answers():
        if proc.poll() is not None: return True  # (exited: said below)
        try: urllib.request.urlopen(url + "/api/status", timeout=2); return True
        except OSError: return False
    try:
        wait_until(answers, 120, "JupyterLab answering on " + url)
        if proc.poll() is not None: pytest.fail("JupyterLab exited:\n" + (tmp_path/"jupyterlab.log").read_text()[-3000:])
        yield url
    finally:
        stop_group(proc)
        log.close()


def stop_group(proc):
    "End the server and the kernels it started: they run in its own process group."
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try: os.killpg(proc.pid, sig)
        except ProcessLookupError: return
        try: proc.wait(wait); return
        except subprocess.TimeoutExpired: pass


@pytest.fixture(scope="module")
def page(chat_lab, tmp_path_factory):
    """One Chromium page on the chat notebook, all cells run; records dialogs and requests. Saves a picture on failure.
    Each `expect` waits up to 30 s for what it expects (not Playwright's 5), for a busy machine."""
    from playwright.sync_api import expect, sync_playwright
    shots = tmp_path_factory.mktemp("shots")
    expect.set_options(timeout=30_000)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pg = browser.new_page(viewport={"width": 1100, "height": 1000}, device_scale_factor=2)  # a sharp screenshot
        pg.dialogs, pg.requests = [], []
        pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
        pg.on("request", lambda r: pg.requests.append(r.url))
        run_notebook(pg, chat_lab, "chat.ipynb", ".t-keys .neochat-input")
        pg.shots, pg.lab = shots, chat_lab
        try: yield pg
        finally: browser.close(); expect.set_options(timeout=None)


def run_notebook(pg, lab, name, ready, ui="lab"):
    """Open notebook `name` in `pg` (in JupyterLab, in a workspace of its own; or with ui="notebook", in Notebook 7), run
    all its cells once its kernel is idle, wait for `ready`."""
    pg.goto(f"{lab}/notebooks/{name}" if ui == "notebook" else f"{lab}/lab/workspaces/{Path(name).stem}/tree/{name}")
    pg.wait_for_function("""name => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
        const k = w && w.context && w.context.path === name && w.sessionContext.session && w.sessionContext.session.kernel;
        return k && k.status === 'idle'; }""", arg=name, timeout=60_000)
    pg.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    pg.locator(ready).wait_for(timeout=90_000)


@pytest.fixture(autouse=True)
def picture_after(request, page):
    "A picture of the page after each check, to look at when one fails (the folder is printed)."
    yield
    page.screenshot(path=str(page.shots/f"{request.node.name}.png"))
    print(f"\npage after {request.node.name}: {page.shots/request.node.name}.png")


@pytest.fixture(scope="module")
def notebook7(page):
    "A second page: keys.ipynb in Notebook 7, served by the same server, on chat.ipynb's kernel; its cells run."
    if NOTEBOOK7_MISSING:
        if REQUIRED: pytest.fail(f"NEOCHAT_REQUIRE_BROWSER=1 but {NOTEBOOK7_MISSING}")
        pytest.skip(NOTEBOOK7_MISSING)
    page.evaluate("""path => { const app = window.jupyterapp, id = app.shell.currentWidget.sessionContext.session.kernel.id;
        return app.serviceManager.sessions.startNew({path, name: path, type: 'notebook', kernel: {id}}).then(s => s.dispose()); }""",
                  "keys.ipynb")  # (the session Notebook 7 will find for keys.ipynb: on the kernel that already runs)
    pg = page.context.browser.new_page(viewport={"width": 1100, "height": 900})
    try:
        run_notebook(pg, page.lab, "keys.ipynb", ".t-keys7 .neochat-input", ui="notebook")
        yield pg
    finally:
        pg.screenshot(path=str(page.shots/"notebook7.png"))
        pg.close()


def run_in_kernel(page, code):
    "Run `code` in the notebook's kernel (test set-up and checks, as if typed into a new cell); fails on an error."
    reply = page.evaluate("""code => new Promise((ok, fail) => {
        const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
        k.requestExecute({code}).done.then(r => ok(r.content), fail); })""", code)
    assert reply["status"] == "ok", f"{reply.get('ename')}: {reply.get('evalue')}"


def kernel_comes_to(page, code, timeout:float=60):
    "Wait until `code` runs without error in the notebook's kernel (the page shows a message before the kernel has it)."
    def holds():
        try: run_in_kernel(page, code); return True
        except AssertionError: return False
    wait_until(holds, timeout, f"the kernel: {code}")


def text_of(locator):
    return locator.inner_text().strip() if locator.count() else ""


# Colour arithmetic in the page: WCAG contrast of an element's text over the first opaque background behind it.
CONTRAST_JS = """el => {
  const rgba = s => { const v = s.match(/[\\d.]+/g).map(Number); return [v[0], v[1], v[2], v.length > 3 ? v[3] : 1]; };
  let bg = null;
  for (let n = el; n && !bg; n = n.parentElement) { const c = rgba(getComputedStyle(n).backgroundColor); if (c[3] > 0.99) bg = c; }
  bg = bg || [255, 255, 255, 1];
  const fg0 = rgba(getComputedStyle(el).color), a = fg0[3] * Number(getComputedStyle(el).opacity);
  const fg = [0, 1, 2].map(i => a * fg0[i] + (1 - a) * bg[i]);
  const lum = c => { const l = c.map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
                     return 0.2126 * l[0] + 0.7152 * l[1] + 0.0722 * l[2]; };
  const [hi, lo] = [lum(fg), lum(bg)].sort((x, y) => y - x);
  return { contrast: (hi + 0.05) / (lo + 0.05), background: lum(bg) };
}"""


def contrast(locator): return locator.evaluate(CONTRAST_JS)


def chat(page, name):
    "The widget of class `t-NAME`, with its parts."
    c = page.locator(f".t-{name}")
    c.box, c.send, c.stop, c.status = c.locator(".neochat-input"), c.locator(".neochat-send"), c.locator(".neochat-stop"), c.locator(".neochat-status")
    c.users, c.replies = c.locator(".neochat-msg-user .neochat-text"), c.locator(".neochat-msg-assistant .neochat-text")
    c.button = lambda name: c.locator(f".neochat-{name}")
    return c


def test_empty_chat_hint_and_disabled_buttons(page):
    from playwright.sync_api import expect
    c = chat(page, "run")
    expect(c.locator(".neochat-hint")).to_contain_text("press Enter")
    expect(c.stop).to_be_disabled()
    for name in ("retry", "undo", "continue"): expect(c.button(name)).to_be_disabled()
    opacity = lambda b: float(b.evaluate("b => getComputedStyle(b).opacity"))
    assert opacity(c.stop) < 0.6 <= opacity(c.send)  # a disabled Stop looks disabled


def test_send_stream_stop(page):
    "Send a message, read the reply's numbers; then a long reply streams (grows) and Stop ends it."
    from playwright.sync_api import expect
    c = chat(page, "run")
    run_in_kernel(page, "session.generate_kwargs['min_new_tokens'] = 48")  # a reply long enough to measure
    c.box.fill("Hello! Who are you?")
    started = time.monotonic()
    c.send.click()
    wait_until(lambda: text_of(c.replies.first) not in ("", "…"), 30)
    seen = time.monotonic() - started  # from the click to the first words on screen
    expect(c.users.first).to_have_text("Hello! Who are you?")
    expect(c.status).to_contain_text("ended:", timeout=60_000)
    expect(c.status).to_contain_text("first token")
    run_in_kernel(page, "session.generate_kwargs.clear()")
    print(f"\ntiny run through the widget in JupyterLab: first words on screen {seen * 1000:.0f} ms after the click; "
          f"status line: {c.status.inner_text()}")
    expect(c.send).to_be_enabled()
    expect(c.stop).to_be_disabled()
    expect(c.replies).to_have_count(1)
    expect(c.locator(".neochat-hint")).to_have_count(0)

    run_in_kernel(page, "session.generation.max_new_tokens = 2000; session.generate_kwargs['min_new_tokens'] = 2000")
    c.box.fill("Tell me a long story about the sea.")
    c.box.press("Enter")
    expect(c.send).to_be_disabled()
    expect(c.stop).to_be_enabled()
    reply = c.replies.nth(1)
    first = wait_until(lambda: (t := text_of(reply)) != "…" and len(t) > 20 and t, 30)
    wait_until(lambda: len(text_of(reply)) > len(first), 10)  # it is still growing: streamed
    c.stop.click()
    expect(c.status).to_contain_text("ended: stopped", timeout=45_000)  # a busy 2-core machine can take 15 s to act on it
    expect(c.send).to_be_enabled()
    expect(c.stop).to_be_disabled()
    assert len(text_of(c.replies.nth(1))) >= len(first)
    expect(c.users).to_have_count(2)
    expect(c.replies).to_have_count(2)
    for t in c.replies.all_inner_texts(): assert "### Human:" not in t and "### Assistant:" not in t
    run_in_kernel(page, "session.generation.max_new_tokens = 64; session.generate_kwargs.clear()")


def test_retry_undo_clear(page):
    from playwright.sync_api import expect
    c = chat(page, "run")
    expect(c.replies).to_have_count(2)
    before = c.status.inner_text()
    c.button("retry").click()
    expect(c.status).not_to_have_text(before, timeout=30_000)
    expect(c.status).to_contain_text("ended:", timeout=30_000)
    expect(c.replies).to_have_count(2)  # replaced, not added
    c.button("undo").click()
    expect(c.users).to_have_count(1)
    expect(c.box).to_have_value("Tell me a long story about the sea.")  # the undone message is back in the box
    c.button("clear").click()
    expect(c.users).to_have_count(0)
    expect(c.box).to_have_value("")  # Clear empties the box too
    expect(c.locator(".neochat-hint")).to_be_visible()
    run_in_kernel(page, "assert session.turns == [] and session.system == 'You are a helpful assistant.'")


def test_settings(page):
    "The preset moves the sliders; a moved slider makes it 'custom'; the base-model switch answers without the adapter."
    from playwright.sync_api import expect
    c = chat(page, "run")
    header = c.locator(".neochat-settings .jupyter-widget-Collapse-header, .neochat-settings .p-Collapse-header").first
    header.click()
    preset = c.locator(".neochat-preset select")
    expect(preset).to_be_visible()
    preset.select_option("creative")
    expect(c.locator(".neochat-temperature .widget-readout")).to_have_text("0.90")
    run_in_kernel(page, "assert (session.generation.temperature, session.generation.top_k) == (0.9, 30)")
    handle = c.locator(".neochat-top-k .ui-slider-handle, .neochat-top-k .noUi-handle").first
    handle.focus(); handle.press("ArrowRight")
    expect(preset).to_have_value("custom")
    run_in_kernel(page, "assert session.generation.top_k == 31, session.generation.top_k")
    c.locator(".neochat-base button", has_text="base model").click()
    c.box.fill("Hi!"); c.box.press("Enter")
    expect(c.status).to_contain_text("ended:", timeout=30_000)
    expect(c.locator(".neochat-msg-assistant .neochat-role")).to_have_text("base model (no fine-tuning)")
    run_in_kernel(page, "assert session.use_base")
    c.locator(".neochat-base button", has_text="fine-tuned").click()
    preset.select_option("balanced")
    c.button("clear").click()
    header.click()


def test_fast_typing_and_shift_enter(page):
    "At 0 ms a key, Enter sends the whole message; Shift+Enter adds a line and runs no cell; a pasted text keeps its lines."
    from playwright.sync_api import expect
    c = chat(page, "md")
    cells = page.locator(".jp-Notebook .jp-Cell").count()
    c.box.click()
    c.box.press_sequentially("How do I boil an egg?", delay=0)
    c.box.press("Enter")
    expect(c.users.first).to_have_text("How do I boil an egg?")
    expect(c.status).to_contain_text("ended:", timeout=60_000)  # the kernel has taken the message (the page shows it at once)
    run_in_kernel(page, "assert chats['t-md'].session.turns[0]['content'] == 'How do I boil an egg?'")  # whole, in Python too
    c.box.press_sequentially("line one", delay=0)
    c.box.press("Shift+Enter")
    c.box.press_sequentially("line two", delay=0)
    expect(c.box).to_have_value("line one\nline two")
    assert page.locator(".jp-Notebook .jp-Cell").count() == cells
    c.box.press("Enter")
    expect(c.users.nth(1)).to_have_text("line one\nline two")
    expect(c.status).to_contain_text("ended:", timeout=15_000)
    pasted = "pasted one\npasted two\n\n    indented four"
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.evaluate("text => navigator.clipboard.writeText(text)", pasted)
    c.box.focus(); c.box.press("Control+V")
    expect(c.box).to_have_value(pasted)  # a real paste, line breaks and all
    c.box.press("Enter")
    expect(c.users.nth(2)).to_have_text(pasted)
    kernel_comes_to(page, f"assert chats['t-md'].session.turns[4]['content'] == {pasted!r}")


def test_markdown(page):
    "Headings, bold, lists and a monospace code block that scrolls sideways; the image in the reply loads nothing."
    from playwright.sync_api import expect
    c = chat(page, "md")
    expect(c.status).to_contain_text("ended:", timeout=120_000)  # the reply its cell asked for has been written
    r = c.replies.first
    assert r.locator("h2").inner_text() == "Boiling an egg"
    assert r.locator("strong").inner_text() == "Hard" and r.locator("li").count() == 2
    pre = r.locator("pre")
    assert "mono" in pre.evaluate("e => getComputedStyle(e.querySelector('code')).fontFamily").lower()
    assert pre.evaluate("e => getComputedStyle(e).overflowX") == "auto"
    assert pre.evaluate("e => e.scrollWidth > e.clientWidth")  # the long line scrolls instead of wrapping
    assert r.locator("img").count() == 0 and "a cat" in r.inner_text()
    assert not [u for u in page.requests if u.startswith(IMAGE_URL)]


def test_html_stays_text(page):
    from playwright.sync_api import expect
    c = chat(page, "xss")
    c.box.fill(XSS)
    c.box.press("Enter")
    expect(c.replies.first).to_contain_text("shown as text", timeout=15_000)
    assert c.users.first.inner_text() == XSS
    assert '<img src=x onerror="window.neochatXSS=1">' in c.replies.first.inner_text()
    assert c.locator(".neochat-messages b, .neochat-messages script, .neochat-messages img").count() == 0
    assert page.evaluate("window.neochatXSS") is None and page.dialogs == []


def test_pane_follows_a_long_reply(page):
    "A 60-line reply: the pane stays at the bottom while it streams; scrolled up to read, it stays where it was put."
    from playwright.sync_api import expect
    c = chat(page, "long")
    pane = c.locator(".neochat-chat")
    gap = lambda: pane.evaluate("p => p.scrollHeight - p.scrollTop - p.clientHeight")
    c.box.fill("Count the lines."); c.box.press("Enter")
    wait_until(lambda: pane.evaluate("p => p.scrollHeight > p.clientHeight + 200"), 20)  # it overflows...
    assert gap() <= 2  # ...and the pane followed
    expect(c.status).to_contain_text("ended:", timeout=30_000)
    assert pane.evaluate("p => p.scrollTop > 0") and gap() <= 2
    c.box.fill("Again."); c.box.press("Enter")
    wait_until(lambda: c.replies.count() == 2 and len(text_of(c.replies.nth(1))) > 50, 20)
    pane.evaluate("p => { p.scrollTop = 0; }")  # the reader scrolls up
    grown = text_of(c.replies.nth(1))
    wait_until(lambda: len(text_of(c.replies.nth(1))) > len(grown) + 100, 20)
    assert pane.evaluate("p => p.scrollTop") == 0  # not pulled down while reading
    expect(c.status).to_contain_text("ended:", timeout=30_000)


def test_screenshot_and_themes(page, tmp_path):
    "Both themes read well: the status line and the replies reach 4.5:1; in the dark theme the pane is dark."
    from playwright.sync_api import expect
    c = chat(page, "run")
    for n, text in enumerate(["Hello! Who are you?", "What can you do?"]):
        c.box.fill(text); c.box.press("Enter")
        expect(c.replies).to_have_count(n + 1, timeout=30_000)
        expect(c.status).to_contain_text("ended:", timeout=30_000)
    shot = README_SCREENSHOT if os.environ.get("NEOCHAT_UPDATE_SCREENSHOT") == "1" else tmp_path/"chat_widget.png"
    c.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000  # a real picture of the chat, not a blank
    light = {"status": contrast(c.status), "reply": contrast(c.replies.first), "pane": contrast(c.locator(".neochat-chat"))}
    page.evaluate("window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})")
    page.wait_for_function("document.body.dataset.jpThemeLight === 'false'", timeout=20_000)
    wait_until(lambda: contrast(c.locator(".neochat-chat"))["background"] < 0.1, 20, "the chat pane in the dark theme")  # its styles applied
    dark = {"status": contrast(c.status), "reply": contrast(c.replies.first), "pane": contrast(c.locator(".neochat-chat"))}
    c.screenshot(path=str(tmp_path/"chat_widget_dark.png"))
    print(f"\ncontrast, light: status {light['status']['contrast']:.1f}, reply {light['reply']['contrast']:.1f}; "
          f"dark: status {dark['status']['contrast']:.1f}, reply {dark['reply']['contrast']:.1f}")
    for theme in (light, dark):
        assert theme["status"]["contrast"] >= 4.5 and theme["reply"]["contrast"] >= 4.5, theme
    assert light["pane"]["background"] > 0.5 and dark["pane"]["background"] < 0.1, (light, dark)
    page.evaluate("window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})")
    page.wait_for_function("document.body.dataset.jpThemeLight === 'true'", timeout=20_000)


@pytest.mark.skipif(not COLAB_PYTHON, reason="NEOCHAT_COLAB_PYTHON (a Python with ipykernel 6, as in Colab) is not set")
def test_colab_kernel_stop(page):
    "On Colab's kernel stack, in Colab mode: the reply is generated in the foreground, streams, and Stop ends it mid-reply."
    from playwright.sync_api import expect
    pg = page.context.browser.new_page(viewport={"width": 1100, "height": 900})
    try:
        run_notebook(pg, page.lab, "colab.ipynb", ".t-colab .neochat-input")
        print("\n" + text_of(pg.locator(".jp-OutputArea-output").first))
        c = chat(pg, "colab")
        expect(c.stop).to_be_visible()
        c.box.fill("Talk for a long time."); c.box.press("Enter")
        reply = c.replies.first
        first = wait_until(lambda: (t := text_of(reply)) != "…" and len(t) > 20 and t, 20)
        wait_until(lambda: len(text_of(reply)) > len(first), 10)  # streamed while the kernel is inside the click
        c.stop.click()
        expect(c.status).to_contain_text("ended: stopped", timeout=10_000)
        assert 0 < text_of(c.replies.first).count("word") < 1500
        expect(c.send).to_be_enabled()
    finally:
        pg.screenshot(path=str(page.shots/"colab.png"))
        pg.close()


@pytest.mark.parametrize("ui", ["lab", "notebook7"])
def test_keys_stay_in_the_chat(request, page, ui):
    """In the chat's box, Shift+Enter adds a line, Enter and Ctrl+Enter send, Escape and the command-mode letters A, B
    and D D type or do nothing there: no key reaches the notebook's shortcuts, which would run the chat's cell again (a
    new widget, the conversation lost), leave the box, or add and delete cells. In JupyterLab, and in Notebook 7, whose
    shortcuts see keys before the box does (the capture phase)."""
    from playwright.sync_api import expect
    pg = page if ui == "lab" else request.getfixturevalue("notebook7")
    name = "keys" if ui == "lab" else "keys7"
    c, cells = chat(pg, name), pg.locator(".jp-Notebook .jp-Cell")
    prompt = cells.filter(has=pg.locator(f".t-{name}")).locator(".jp-InputPrompt")
    n_cells, count = cells.count(), prompt.inner_text()  # the cell's execution count, as "[7]:"
    c.evaluate("el => { el.neochatMark = 'the widget drawn when the cell ran'; }")  # a cell run again draws a new one
    c.box.click()
    c.box.press_sequentially("one", delay=0)
    c.box.press("Shift+Enter")
    c.box.press_sequentially("two", delay=0)
    expect(c.box).to_have_value("one\ntwo")
    c.box.press("Escape")
    expect(c.box).to_be_focused()
    c.box.press_sequentially(" a b dd", delay=0)  # (in command mode: a cell above, one below, delete this one)
    expect(c.box).to_have_value("one\ntwo a b dd")
    c.box.press("Control+Enter")
    expect(c.users.first).to_have_text("one\ntwo a b dd")
    expect(c.send).to_be_enabled(timeout=30_000)  # (the reply is over)
    c.box.press_sequentially("three", delay=0)
    c.box.press("Enter")
    expect(c.users.nth(1)).to_have_text("three")  # (shown by the kernel after any cell run that these keys started)
    expect(c.box).to_have_value("")
    run_in_kernel(pg, f"keys_chat = chats['t-{name}']; assert keys_chat.wait(60)\n"
                      "assert [t['content'] for t in keys_chat.session.turns] == ['one\\ntwo a b dd', 'Okay.', 'three', 'Okay.'], keys_chat.session.turns")
    expect(c.status).to_contain_text("ended:")
    assert c.evaluate("el => el.neochatMark") == "the widget drawn when the cell ran"
    assert (cells.count(), prompt.inner_text()) == (n_cells, count)
