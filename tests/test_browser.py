"""The chat widget in a real browser: JupyterLab on 127.0.0.1 serves a small chat notebook that opens a tiny run,
Debian's Chromium (driven by Playwright) runs it, chats, stops a long reply, checks that HTML in a reply stays text,
and takes a screenshot: into the test's temporary folder, or, with NEOCHAT_UPDATE_SCREENSHOT=1, over the one that the
README shows (docs/images/chat_widget.png), so that a plain test run leaves the checkout as it was.

Needs `jupyterlab`, `playwright` (pip) and Chromium at /usr/bin/chromium (apt-get install chromium); Playwright's own
browser download is not used. Skipped, with the reason, when one of them is missing, unless NEOCHAT_REQUIRE_BROWSER=1
(as in CI), where a missing piece fails the test."""
import json, os, signal, socket, subprocess, sys, time, urllib.request
from pathlib import Path
import pytest

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


MISSING = _missing()
REQUIRED = os.environ.get("NEOCHAT_REQUIRE_BROWSER") == "1"
pytestmark = pytest.mark.skipif(MISSING is not None and not REQUIRED, reason=str(MISSING))


def chat_notebook(run_dir):
    "A small chat notebook: open the run, chat widget; then a second widget whose scripted model replies with HTML."
    cells = [
        "from neochat.chat import ChatSession\nfrom neochat.testing import ScriptedModel\nfrom neochat.widget import ChatWidget",
        f"session = ChatSession.from_run({str(run_dir)!r}, system='You are a helpful assistant.')\n"
        "session.generation.max_new_tokens = 64\n"
        "ChatWidget(session)",
        "html_reply = ' <img src=x onerror=\"window.neochatXSS=1\"><script>window.neochatXSS=2</script> shown as text<|endoftext|>'\n"
        "ChatWidget(ChatSession(ScriptedModel(session.tokenizer, [html_reply]), session.tokenizer))",
    ]
    return {"cells": [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {}, "outputs": [],
                       "source": src} for i, src in enumerate(cells)],
            "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
            "nbformat": 4, "nbformat_minor": 5}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def chat_lab(request, tmp_path):
    "JupyterLab on a free localhost port, token off, rooted in a temporary folder holding chat.ipynb; yields its URL."
    if MISSING: pytest.fail(f"NEOCHAT_REQUIRE_BROWSER=1 but {MISSING}")
    chat_tiny_run = request.getfixturevalue("chat_tiny_run")  # (built only once the browser pieces are known present)
    root, cfg = tmp_path/"root", tmp_path/"config"
    root.mkdir(); cfg.mkdir()
    (root/"chat.ipynb").write_text(json.dumps(chat_notebook(chat_tiny_run)))
    settings = tmp_path/"lab-settings"/"@jupyterlab"/"apputils-extension"
    settings.mkdir(parents=True)
    (settings/"notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    (cfg/"jupyter_server_config.json").write_text(json.dumps({
        "ServerApp": {"ip": "127.0.0.1", "open_browser": False, "root_dir": str(root), "password": "",
                      "allow_root": True},  # CI containers run as root
        "IdentityProvider": {"token": ""},
        "LabApp": {"expose_app_in_browser": True, "news_url": None,
                   "check_for_updates_class": "jupyterlab.handlers.announcements.NeverCheckForUpdate"}}))
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]), # the kernel's `python`
               JUPYTER_CONFIG_DIR=str(cfg), JUPYTER_RUNTIME_DIR=str(tmp_path/"runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(tmp_path/"lab-settings"), JUPYTERLAB_WORKSPACES_DIR=str(tmp_path/"lab-workspaces"),
               IPYTHONDIR=str(tmp_path/"ipython"))
    port = free_port()
    log = open(tmp_path/"jupyterlab.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "jupyterlab", f"--port={port}", "--no-browser"], cwd=root, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            if proc.poll() is not None: break
            try:
                urllib.request.urlopen(url + "/api/status", timeout=2); break
            except OSError: time.sleep(0.5)
        else: pytest.fail("JupyterLab did not start in 60 s")
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


def text_of(locator):
    return locator.inner_text().strip() if locator.count() else ""


def wait_until(check, timeout):
    "Poll `check()` until it returns something true (returned), failing after `timeout` seconds."
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if r := check(): return r
        time.sleep(0.1)
    raise AssertionError(f"condition not met within {timeout} s")


def run_in_kernel(page, code):
    "Run `code` in the notebook's kernel (test set-up, as if typed into a new cell)."
    page.evaluate("""code => new Promise((ok, fail) => {
        const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
        k.requestExecute({code}).done.then(ok, fail); })""", code)


def test_chat_widget_in_jupyterlab(chat_lab, tmp_path):
    from playwright.sync_api import sync_playwright, expect
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1100, "height": 1000}, device_scale_factor=2)  # a sharp screenshot
        try:
            page.goto(chat_lab + "/lab/tree/chat.ipynb")
            page.wait_for_function("""() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
                const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
                return k && k.status === 'idle'; }""", timeout=60_000)
            page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")

            chat = page.locator(".neochat").first
            send, stop, status = chat.locator(".neochat-send"), chat.locator(".neochat-stop"), chat.locator(".neochat-status")
            box = chat.locator(".neochat-input input")
            expect(box).to_be_visible(timeout=90_000)
            expect(stop).to_be_disabled()

            # Type a message, click Send: Send is disabled while the reply streams in, then the reply's numbers show.
            box.fill("Hello! Who are you?")
            send.click()
            expect(chat.locator(".neochat-msg-user")).to_contain_text("Hello! Who are you?")
            expect(status).to_contain_text("ended:", timeout=60_000)
            expect(status).to_contain_text("first token")
            expect(send).to_be_enabled()
            expect(stop).to_be_disabled()
            expect(chat.locator(".neochat-msg-assistant")).to_have_count(1)

            # A long reply (EOS suppressed for 2000 tokens), sent with Enter: it streams (grows), and Stop stops it.
            run_in_kernel(page, "session.generation.max_new_tokens = 2000; session.generate_kwargs['min_new_tokens'] = 2000")
            box.fill("Tell me a long story about the sea.")
            box.press("Enter")
            expect(send).to_be_disabled()
            expect(stop).to_be_enabled()
            reply = chat.locator(".neochat-msg-assistant .neochat-text").nth(1)
            first = wait_until(lambda: (t := text_of(reply)) != "…" and len(t) > 20 and t, 30)
            wait_until(lambda: len(text_of(reply)) > len(first), 10)  # it is still growing: streamed
            stop.click()
            expect(status).to_contain_text("ended: stopped", timeout=15_000)
            expect(send).to_be_enabled()
            expect(stop).to_be_disabled()
            stopped = text_of(chat.locator(".neochat-msg-assistant .neochat-text").nth(1))
            assert len(stopped) >= len(first) > 0
            expect(chat.locator(".neochat-msg-user")).to_have_count(2)
            expect(chat.locator(".neochat-msg-assistant")).to_have_count(2)
            for t in chat.locator(".neochat-msg-assistant .neochat-text").all_inner_texts():
                assert "### Human:" not in t and "### Assistant:" not in t
            run_in_kernel(page, "session.generation.max_new_tokens = 64; session.generate_kwargs.clear()")

            shot = README_SCREENSHOT if os.environ.get("NEOCHAT_UPDATE_SCREENSHOT") == "1" else tmp_path/"chat_widget.png"
            chat.screenshot(path=str(shot))

            # HTML in a reply is shown as text and never runs.
            other = page.locator(".neochat").nth(1)
            other.locator(".neochat-input input").fill("Show me some HTML.")
            other.locator(".neochat-input input").press("Enter")
            shown = other.locator(".neochat-msg-assistant .neochat-text").last
            expect(shown).to_contain_text("shown as text", timeout=15_000)
            assert '<img src=x onerror="window.neochatXSS=1">' in shown.inner_text()
            assert other.locator(".neochat-msg-assistant img, .neochat-msg-assistant script").count() == 0
            assert page.evaluate("window.neochatXSS") is None
        except Exception:
            page.screenshot(path=str(tmp_path/"failure.png"), full_page=True)
            print(f"browser test failed; page screenshot: {tmp_path/'failure.png'}")
            raise
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000  # a real picture of the chat, not a blank
