"""`neochat serve`, the web chat, in a real browser: Debian's Chromium (driven by Playwright) chats with two pages
served from this process. One is the tiny run served by `neochat.api.serve`, what `neochat serve RUN_DIR` runs,
for sending, Retry, Undo, Clear and the settings; the other a scripted model (`neochat.testing.ScriptedModel`),
whose replies the tests choose, for a slow reply to watch stream in and stop, two users at once, HTML that must stay
text and markdown that must render. Both answer through `ChatSession`, the same engine as the terminal chat. The
command's one-line errors are tested at the end.

A screenshot of the tiny run's page goes into the test's temporary folder, or, with NEOCHAT_UPDATE_SCREENSHOT=1,
over the one the README shows (docs/images/web_chat.png), so that a plain test run leaves the checkout as it was.

Needs `gradio` (pip install -e ".[web]"), `playwright` (pip) and Chromium at /usr/bin/chromium (apt-get install
chromium); Playwright's own browser download is not used. Skipped, with the reason, when one of them is missing,
unless NEOCHAT_REQUIRE_BROWSER=1 (as in CI), where a missing piece fails the tests."""
import contextlib, io, os, re, socket, sys, threading
from pathlib import Path
import pytest
from browsing import free_port, wait_until
from cli_server import one_line

CHROMIUM = os.environ.get("NEOCHAT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
README_SCREENSHOT = Path(__file__).resolve().parents[1]/"docs"/"images"/"web_chat.png"
ZWSP = "\u200b"
EVIL = "<b>x</b><script>alert(1)</script>"  # HTML that must show as text and run nothing


def _missing():
    try: import gradio  # noqa: F401
    except ImportError: return "gradio is not installed (pip install -e '.[web]')"
    if not Path(CHROMIUM).exists(): return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    try: import playwright.sync_api  # noqa: F401
    except ImportError: return "playwright is not installed (pip install playwright)"
    return None


MISSING = _missing()
REQUIRED = os.environ.get("NEOCHAT_REQUIRE_BROWSER") == "1"
pytestmark = pytest.mark.skipif(MISSING is not None and not REQUIRED, reason=str(MISSING))


# --- the two pages, and a browser ----------------------------------------------------------------------------------

SCRIPT = {  # the scripted model's reply to a message containing the key
    "html": f" {EVIL}<img src=x onerror=\"alert(2)\"> stays text<|endoftext|>",
    "markdown": " **Bold** and `code`:\n\n- one\n- two\n\n```python\nif a < b:\n    print('<p>')\n```<|endoftext|>",
    "long story": " word" * 250 + "<|endoftext|>",
    "story": " word" * 100 + "<|endoftext|>",
    "": " Hello from the scripted model.<|endoftext|>",
}


def scripted_model(tokenizer):
    """A `ScriptedModel` that picks its reply by the last message (see `SCRIPT`), 20 ms a token (to watch it stream; a
    test that needs a reply to be mid-stream holds it there with `on_token`), counting generations at once."""
    from neochat.testing import ScriptedModel
    class ByMessage(ScriptedModel):
        running = most = 0
        def generate(self, input_ids, **kw):
            last = self.tokenizer.decode(input_ids[0]).rsplit("### Human:", 1)[-1]
            self.replies, self._i[False] = [next(r for k, r in SCRIPT.items() if k in last)], 0
            ByMessage.running += 1; ByMessage.most = max(ByMessage.most, ByMessage.running)
            try: return super().generate(input_ids, **kw)
            finally: ByMessage.running -= 1
    return ByMessage(tokenizer, [""], delay=0.02)


@pytest.fixture(scope="module")
def pages(chat_tiny_run):
    "The web chat of the tiny run, as `neochat serve` starts it, and of the scripted model: {'tiny': app, 'scripted': app}."
    if MISSING: pytest.fail(f"NEOCHAT_REQUIRE_BROWSER=1 but {MISSING}")
    from neochat.chat import ChatSession
    from neochat.api import serve
    from neochat.serve import chat_app, launch
    port, said = free_port(), io.StringIO()
    with contextlib.redirect_stdout(said): tiny = serve(chat_tiny_run, port=port, block=False)
    tiny.url = f"http://127.0.0.1:{port}/"
    assert said.getvalue() == f"neochat serve: the chat is at {tiny.url}, the OpenAI-compatible API at {tiny.url}v1 (Ctrl-C stops it)\n", said.getvalue()
    tok = tiny.web_chat.session.tokenizer
    scripted = chat_app(ChatSession(scripted_model(tok), tok), description="A scripted model.")
    scripted.url = launch(scripted, port=free_port())
    for app in (tiny, scripted): count_generations(app)
    yield {"tiny": tiny, "scripted": scripted}
    for app in (tiny, scripted): app.close()


def count_generations(app):
    "Count in `app.generations` the replies its model has generated (every tab's session shares the model)."
    model, app.generations = app.web_chat.session.model, 0
    generate = model.generate
    def counted(*args, **kw):
        try: return generate(*args, **kw)
        finally: app.generations += 1
    model.generate = counted


@pytest.fixture(scope="module")
def browser(pages):
    """Chromium, with one browser context (one user) for the tests' tabs; `new_context(browser)` makes another user.
    Each `expect` waits up to 30 s for what it expects (not Playwright's 5), for a busy machine."""
    from playwright.sync_api import expect, sync_playwright
    expect.set_options(timeout=30_000)
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            b.user = new_context(b)
            yield b
            b.close()
    finally: expect.set_options(timeout=None)


def new_context(browser): return browser.new_context(viewport={"width": 900, "height": 820}, device_scale_factor=1.5)


class Chat:
    "A browser tab on a web chat page (a tab of the browser's user, or of a new user), with the few things the tests do to it."
    def __init__(self, browser, app, new_user=False):
        self.app, self.context = app, new_context(browser) if new_user else None
        self.page = (self.context or browser.user).new_page()
        self.dialogs = []  # alert() and the like, were any to run
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.goto(app.url)
        self.box = self.page.locator("#neochat-input textarea")
        self.box.wait_for(timeout=30_000)
        self.user, self.bot = self.page.locator("#neochat-chat [data-testid=user]"), self.page.locator("#neochat-chat [data-testid=bot]")
        self.status = self.page.locator("#neochat-status")

    def send(self, text, wait=True):
        "Type `text` and press Enter; with `wait`, wait for the reply to end and the box to take a new message."
        from playwright.sync_api import expect
        expect(self.box).to_be_enabled(timeout=30_000)
        generations = self.app.generations
        self.box.fill(text)
        self.box.press("Enter")
        if wait: self.wait_reply(generations)

    def wait_reply(self, generations):
        "Wait for a reply generated after the model's first `generations`, and for the page to take the next message."
        from playwright.sync_api import expect
        wait_until(lambda: self.app.generations > generations, 30, "a reply")
        expect(self.status).to_contain_text("ended:", timeout=30_000)
        expect(self.box).to_be_enabled(timeout=30_000)  # (disabled from sending until the reply is in)

    def button(self, label): return self.page.locator(f"#neochat-chat button[aria-label='{label}']").last

    def session(self, text):
        "The server's `ChatSession` of this tab: the one whose conversation holds `text`."
        return wait_until(lambda: next((s for s in self.app.web_chat.tabs.values() if any(m["content"] == text for m in s.messages)), None),
                          10, f"a tab's session holding {text!r}")

    def close(self):
        if self.context: self.context.close()
        else: self.page.close()


@contextlib.contextmanager
def chat(browser, app, tmp_path, new_user=False):
    c = Chat(browser, app, new_user)
    try: yield c
    except Exception:
        c.page.screenshot(path=str(tmp_path/"failure.png"), full_page=True)
        print(f"browser test failed; page screenshot: {tmp_path/'failure.png'}")
        raise
    finally: c.close()


def texts(locator): return [t.strip() for t in locator.all_inner_texts()]


# --- the tiny run ----------------------------------------------------------------------------------------------------

def test_send_retry_undo_clear_and_screenshot(pages, browser, tmp_path):
    from playwright.sync_api import expect
    with chat(browser, pages["tiny"], tmp_path) as c:
        # Send: the message shows at once, the reply comes with its numbers, the box takes the next message.
        c.send("Hello! Who are you?")
        assert texts(c.user) == ["Hello! Who are you?"]
        expect(c.status).to_contain_text("first token")
        s = c.session("Hello! Who are you?")
        assert [m["role"] for m in s.messages] == ["user", "assistant"] and s.system is None
        assert "###" not in s.messages[-1]["content"]

        # A second message continues the conversation: the session's prompt held the first exchange.
        c.send("And what can you do?")
        assert [m["content"] for m in s.messages if m["role"] == "user"] == ["Hello! Who are you?", "And what can you do?"]
        first_reply = s.messages[1]["content"]

        # Retry: the last message is answered again; one reply to it, not two, and the first exchange is untouched.
        generations = pages["tiny"].generations
        c.button("Retry").click()
        c.wait_reply(generations)
        assert texts(c.user) == ["Hello! Who are you?", "And what can you do?"]
        assert s.messages[1]["content"] == first_reply and len(s.messages) == 4

        # HTML typed in a message is shown as text and runs nothing; markdown in it renders; the model gets it as typed.
        typed = f"{EVIL} and **bold**"
        c.send(typed)
        shown = c.user.last
        assert shown.inner_text().strip().replace(ZWSP, "") == f"{EVIL} and bold"
        assert shown.locator("b, script").count() == 0 and shown.locator("strong").count() == 1
        assert s.messages[-2]["content"] == typed and c.dialogs == []

        # Undo: the last exchange goes, and its message is back in the box, exactly as typed.
        c.button("Undo").click()
        expect(c.user).to_have_count(2)
        expect(c.box).to_have_value(typed)

        # Clear: the conversation is gone, and the next reply starts a new one.
        c.page.locator("#neochat-chat button[aria-label='Clear']").click()
        expect(c.user).to_have_count(0)
        c.send("Hello! What can you do?")
        assert texts(c.user) == ["Hello! What can you do?"]
        assert [m["content"] for m in s.messages if m["role"] == "user"] == ["Hello! What can you do?"]

        # The screenshot the README shows (NEOCHAT_UPDATE_SCREENSHOT=1), with a reply long enough to look like one.
        s.generate_kwargs["min_new_tokens"] = 40
        c.send("How do I boil an egg?")
        shot = README_SCREENSHOT if os.environ.get("NEOCHAT_UPDATE_SCREENSHOT") == "1" else tmp_path/"web_chat.png"
        c.page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000


def test_settings_reach_the_reply(pages, browser, tmp_path):
    from playwright.sync_api import expect
    with chat(browser, pages["tiny"], tmp_path) as c:
        c.page.locator("#neochat-settings button.label-wrap").click()
        system = c.page.locator("#neochat-system textarea")
        expect(system).to_have_value("")
        system.fill("Answer in one word.")
        # A preset moves the sampling sliders; moving one shows `custom`.
        c.page.locator("#neochat-preset input").click()
        c.page.locator("[role=option]", has_text="precise").click()
        temperature = c.page.locator("#neochat-temperature input[type=number]")
        expect(temperature).to_have_value("0")
        c.page.locator("#neochat-max-new-tokens input[type=number]").fill("12")
        c.page.locator("#neochat-max-new-tokens input[type=number]").press("Enter")
        c.send("Settings, please.")
        s = c.session("Settings, please.")
        assert s.system == "Answer in one word."
        g = s.generation
        assert (g.sampling, g.temperature, g.max_new_tokens) == ("precise", 0.0, 12), g
        assert s.last_stats.new_tokens <= 12
        temperature.fill("0.5"); temperature.press("Enter")
        expect(c.page.locator("#neochat-preset input")).to_have_value("custom")

        # The base-model switch: the same engine answers with the adapter off, and says so.
        c.page.locator("#neochat-base input[type=checkbox]").check()
        c.send("Now the base model.")
        expect(c.status).to_contain_text("base model · ")
        assert s.use_base and s.last_stats is not None


@contextlib.contextmanager
def on_token(app, hook):
    "The scripted page's model calls `hook(n)` after the n-th token of each reply (`ScriptedModel.on_token`) inside the block."
    model = app.web_chat.session.model
    model.on_token = hook
    try: yield
    finally: model.on_token = None


def test_two_tabs_at_once_keep_their_own_conversations(pages, browser, tmp_path):
    "Two browser contexts (two users) on the scripted page: b sends while a's reply streams; b waits its turn."
    from playwright.sync_api import expect
    with chat(browser, pages["scripted"], tmp_path) as a, chat(browser, pages["scripted"], tmp_path, new_user=True) as b:
        app = pages["scripted"]
        model, generations = app.web_chat.session.model, app.generations
        type(model).most = 0
        b_waits = threading.Event()  # a's reply (100 tokens) waits at its 30th token until b's message is in line
        with on_token(app, lambda n: n == 30 and b_waits.wait(300) and None):
            try:
                a.send("Tell me a short story, a.", wait=False)
                wait_until(lambda: "word" in a.bot.last.inner_text() if a.bot.count() else False, 30, "a's reply streaming")
                b.send("Hi from b.", wait=False)
                expect(b.page.locator("#neochat-chat")).to_contain_text("queue: 1/1")  # the server holds b's message in line
                expect(a.status).to_have_text("Generating…")
                assert texts(b.user) == ["Hi from b."] and not b.bot.count()  # b waits
            finally: b_waits.set()
            b.wait_reply(generations + 1); a.wait_reply(generations)
        assert texts(a.user) == ["Tell me a short story, a."] and texts(b.user) == ["Hi from b."]
        assert texts(b.bot) == ["Hello from the scripted model."]
        assert texts(a.bot)[0].count("word") == 100
        assert type(model).most == 1  # one reply generated at a time
        sa, sb = a.session("Tell me a short story, a."), b.session("Hi from b.")
        assert sa is not sb and [m["content"] for m in sb.messages] == ["Hi from b.", "Hello from the scripted model."]


# --- the scripted model: streaming, Stop, what a reply may contain -------------------------------------------------

def test_reply_streams_stops_stays_text_and_renders_markdown(pages, browser, tmp_path):
    from playwright.sync_api import expect
    with chat(browser, pages["scripted"], tmp_path) as c:
        # A reply streams in, and Stop stops it; the part shown is the reply kept. The reply (250 tokens) waits at its
        # 10th token until the page has shown its start, and holds at its 60th until it is stopped.
        shown = threading.Event()
        def hook(n):
            if n == 10: shown.wait(300)
            return n >= 60
        with on_token(pages["scripted"], hook):
            try:
                c.send("Tell me a long story.", wait=False)
                reply = c.bot.last
                first = wait_until(lambda: c.bot.count() and "word" in (t := reply.inner_text()) and t, 30, "the reply streaming")
            finally: shown.set()
            wait_until(lambda: len(reply.inner_text()) > len(first), 30, "the reply growing")  # streamed, not sent whole
            expect(c.status).to_have_text("Generating…")
            c.page.locator("#neochat-input button.stop-button").click()
            expect(c.status).to_contain_text("ended: stopped", timeout=30_000)
            expect(c.box).to_be_enabled()
        stopped = reply.inner_text().strip()
        assert len(first) <= len(stopped) and 0 < stopped.count("word") < 250
        # The model is free again: the next message is answered, on the conversation as shown, stopped reply included.
        c.send("Hi again.")
        assert texts(c.bot)[-1] == "Hello from the scripted model."
        s = c.session("Hi again.")
        assert [m["content"].strip() for m in s.messages] == ["Tell me a long story.", stopped, "Hi again.", "Hello from the scripted model."]

        # HTML in a reply is shown as text and runs nothing; markdown renders, code keeps its indentation and `<`.
        c.send("Show me some html.")
        shown = c.bot.last
        assert shown.inner_text().strip().replace(ZWSP, "") == f'{EVIL}<img src=x onerror="alert(2)"> stays text'
        assert shown.locator("b, script, img").count() == 0
        c.send("Now some markdown.")
        md = c.bot.last
        assert md.locator("strong").inner_text() == "Bold" and md.locator("li").count() == 2
        code = md.locator("pre code")
        assert code.inner_text().replace(ZWSP, "").strip() == "if a < b:\n    print('<p>')"  # indentation and `<` kept
        # An image whose load fails as the reply's `<img src=x>` would has reported its error: an onerror there would have run.
        c.page.evaluate("() => new Promise(done => { const i = new Image(); i.onerror = i.onload = done; i.src = 'x?' + Math.random(); })")
        assert c.dialogs == []  # no alert() ran


# --- the command ------------------------------------------------------------------------------------------------------

def test_command_errors_are_one_line(tmp_path, monkeypatch):
    "`neochat serve` runs in this process (`neochat.testing.run_cli`), so that it meets the port taken here and Gradio hidden."
    from neochat.testing import run_cli
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0)); taken.listen()
        port = taken.getsockname()[1]
        for argv, needle in [((tmp_path/"missing", "--port", free_port()), "does not exist"),
                             ((tmp_path, "--port", free_port()), "holds no neochat run"),
                             ((tmp_path, "--port", port), f"port {port} on 127.0.0.1 is in use"),
                             ((tmp_path, "--port", "70000"), "--port must be between 1 and 65535")]:
            one_line(run_cli("serve", *argv), needle)
    monkeypatch.setitem(sys.modules, "gradio", None)  # as if the web extra were not installed
    for m in ("neochat.serve", "neochat.api"): monkeypatch.delitem(sys.modules, m, raising=False)
    assert one_line(run_cli("serve", tmp_path)) == "neochat: error: neochat serve needs the web extra: pip install 'neochat[web]'"



def test_importing_writes_no_stub_file(pages):
    "Gradio writes a .pyi stub next to the module of each component class it sees defined; neochat.serve turns that off."
    import neochat.serve
    assert not Path(neochat.serve.__file__).with_suffix(".pyi").exists()
