"""`neochat chat` end to end on a tiny run trained on data no notebook has seen, Ctrl-C in the terminal chat, and the
chat widget's buttons clicked from Python (a scripted stand-in model, and the tiny model)."""
import html, io, json, subprocess, sys, threading, time, _thread
from pathlib import Path
import pytest
from neochat.chat import ChatSession, ScriptedModel, chat_loop
from neochat.config import GenerationConfig, gpt_neo_tokenizer_dir
from neochat.template import STOP_STRINGS, use_chat_template
from neochat.widget import ChatWidget


def neochat_chat(*args, input=None, timeout=300):
    "Run `neochat chat ARGS...` as a user would; returns the CompletedProcess (text mode)."
    return subprocess.run([sys.executable, "-m", "neochat.cli", "chat", *map(str, args)], input=input, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def tok():
    from transformers import AutoTokenizer
    return use_chat_template(AutoTokenizer.from_pretrained(gpt_neo_tokenizer_dir()))


# --- the command ---------------------------------------------------------------------------------------------------

def test_prompt_prints_one_reply_without_markers(chat_tiny_run):
    r = neochat_chat(chat_tiny_run, "--prompt", "How do I keep bread fresh for longer?", "--sampling", "precise")
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    reply = r.stdout
    assert reply.endswith("\n") and reply.count("\n") == reply.strip().count("\n") + 1
    assert reply.strip(), "the reply is empty"
    assert not any(m in reply for m in STOP_STRINGS), reply
    assert "###" not in reply


def test_prompt_sampling_system_and_length(chat_tiny_run):
    r = neochat_chat(chat_tiny_run, "--prompt", "Hi!", "--sampling", "creative", "--system", "Be brief.", "--max-new-tokens", "16")
    assert r.returncode == 0, r.stderr
    assert not any(m in r.stdout for m in STOP_STRINGS), r.stdout


def test_bad_run_dir_is_one_line(tmp_path):
    for run_dir, msg in ((tmp_path/"missing", "does not exist"), (tmp_path, "not a complete run")):
        r = neochat_chat(run_dir, "--prompt", "Hi")
        assert r.returncode == 2, r.stdout
        err = r.stderr.strip()
        assert "Traceback" not in r.stderr and len(err.splitlines()) == 1, r.stderr
        assert err.startswith("neochat: error: ") and msg in err, err


def test_bad_sampling_is_a_usage_error(chat_tiny_run):
    r = neochat_chat(chat_tiny_run, "--sampling", "wild", "--prompt", "Hi")
    assert r.returncode == 2 and "invalid choice" in r.stderr


def test_interactive_session_with_slash_commands(chat_tiny_run, tmp_path):
    lines = ["Hello there!", "/retry", "/system Answer briefly.", "/sampling precise", "/set max_new_tokens 12",
             "What is a good breakfast?", "/continue", "/undo", "/stats", "/base", f"/save {tmp_path/'t.json'}",
             "/reset", "/nonsense", "/quit", "never read"]
    r = neochat_chat(chat_tiny_run, input="\n".join(lines) + "\n")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert out.count("neochat> ") == 4, out  # the message, /retry, the second message, /continue
    assert "(system prompt: 'Answer briefly.')" in out and "(max_new_tokens = 12)" in out
    assert "(removed: 'What is a good breakfast?')" in out
    assert "tokens/s" in out and "base> " in out and "unknown command /nonsense" in out
    assert not any(m in out for m in STOP_STRINGS), out
    saved = json.loads((tmp_path/"t.json").read_text())
    assert [m["role"] for m in saved["messages"]] == ["system", "user", "assistant"]
    assert saved["messages"][0]["content"] == "Answer briefly." and saved["generation"]["sampling"] == "precise"


def test_ctrl_c_stops_a_reply_and_the_chat_goes_on(tok):
    "Ctrl-C (a KeyboardInterrupt in the main thread) while a reply streams stops it, keeps it, and the chat goes on."
    session = ChatSession(ScriptedModel(tok, [" word" * 500 + "<|endoftext|>", " Still here.<|endoftext|>"], delay=0.01), tok)
    out = io.StringIO()

    def ctrl_c_once_streaming():
        t = time.monotonic()
        while "neochat> word word" not in out.getvalue() and time.monotonic() - t < 10: time.sleep(0.01)
        _thread.interrupt_main()

    lines = iter(["Talk for a long time.", "Are you there?", "/quit"])
    threading.Thread(target=ctrl_c_once_streaming, daemon=True).start()
    code = chat_loop(session, lambda prompt: next(lines), out)
    assert code == 0
    assert "[stopped]" in out.getvalue() and "neochat> Still here." in out.getvalue()
    assert session.last_stats.finish == "eos"
    partial = session.turns[1]["content"]
    assert 0 < partial.count("word") < 500 and set(partial.split()) == {"word"}
    assert [m["role"] for m in session.turns] == ["user", "assistant", "user", "assistant"]


# --- the widget, headless ------------------------------------------------------------------------------------------

def texts(w):
    "(role, text) of every message the widget shows."
    out = []
    for m in w.messages.children:
        role = next(c.removeprefix("neochat-msg-") for c in m._dom_classes if c.startswith("neochat-msg-"))
        out.append((role, html.unescape(m.value.split('class="neochat-text">', 1)[1].removesuffix("</div>"))))
    return out


def submit(w, text):
    "Type `text` into the input box and press Enter (the `submit` message the browser sends)."
    w.input.value = text
    w.input._handle_custom_msg({"event": "submit"}, None)


def buttons(w):
    return {n: not getattr(w, f"{n}_button").disabled for n in ("send", "stop", "retry", "undo", "continue", "clear")}


def test_widget_send_retry_undo_clear(tok):
    m = ScriptedModel(tok, [" First.<|endoftext|>", " Second.<|endoftext|>", " Third.<|endoftext|>"])
    w = ChatWidget(ChatSession(m, tok))
    assert buttons(w) == dict(send=True, stop=False, retry=False, undo=False, clear=False, **{"continue": False})
    submit(w, "One?"); assert w.wait(5)
    w.input.value = "Two?"; w.send_button.click(); assert w.wait(5)
    assert texts(w) == [("user", "One?"), ("assistant", "First."), ("user", "Two?"), ("assistant", "Second.")]
    assert buttons(w) == dict(send=True, stop=False, retry=True, undo=True, clear=True, **{"continue": True})
    w.retry_button.click(); assert w.wait(5)
    assert texts(w)[-1] == ("assistant", "Third.") and len(texts(w)) == 4
    w.undo_button.click()
    assert texts(w) == [("user", "One?"), ("assistant", "First.")] and w.input.value == "Two?"
    w.clear_button.click()
    assert texts(w) == [] and w.session.messages == [] and not buttons(w)["undo"]


def test_widget_busy_and_stop_mid_reply(tok):
    m = ScriptedModel(tok, [" word" * 400 + "<|endoftext|>", " Done.<|endoftext|>"], delay=0.005)
    w = ChatWidget(ChatSession(m, tok))
    submit(w, "Talk."); time.sleep(0.4)
    assert buttons(w) == dict(send=False, stop=True, retry=False, undo=False, clear=False, **{"continue": False})
    assert w.status.value.startswith("Generating")
    assert texts(w)[-1][1].startswith("word")
    submit(w, "Ignored."); w.send_button.click()
    assert w.input.value == "Ignored." and len(m.prompts) == 1
    w.stop_button.click(); assert w.wait(5)
    assert "ended: stopped" in w.status.value
    reply = w.session.turns[-1]["content"]
    assert texts(w)[-1] == ("assistant", reply) and 0 < reply.count("word") < 400
    assert w.updates <= 10 * w.session.last_stats.seconds + 2  # bounded redraw rate
    assert buttons(w)["send"] and not buttons(w)["stop"]
    w.input.value = ""; submit(w, "Thanks."); assert w.wait(5)
    assert texts(w)[-1] == ("assistant", "Done.")


def test_widget_continue(tok):
    w = ChatWidget(ChatSession(ScriptedModel(tok, [" one two", " three.<|endoftext|>"]), tok, generation=GenerationConfig(max_new_tokens=2)))
    submit(w, "Count."); w.wait(5)
    assert "ended: length" in w.status.value
    w.continue_button.click(); w.wait(5)
    assert texts(w) == [("user", "Count."), ("assistant", "one two three.")]


def test_widget_error_then_usable_and_html_escaped(tok):
    reply = ' <script>window.pwned=1</script><img src=x onerror="window.pwned=2"> done<|endoftext|>'
    m = ScriptedModel(tok, [reply], error=ValueError("model exploded"))
    w = ChatWidget(ChatSession(m, tok))
    submit(w, "Show me HTML."); w.wait(5)
    assert texts(w) == [("error", "ValueError: model exploded")]
    assert w.input.value == "Show me HTML." and buttons(w)["send"] and not buttons(w)["stop"]
    assert w.session.messages == []
    m.error = None
    w.input.value = ""; submit(w, "Show me HTML."); w.wait(5)
    assert texts(w)[-1] == ("assistant", '<script>window.pwned=1</script><img src=x onerror="window.pwned=2"> done')
    shown = w.messages.children[-1].value
    assert "<script" not in shown and "<img" not in shown
    assert "&lt;script&gt;" in shown and "&lt;img src=x onerror=&quot;window.pwned=2&quot;&gt;" in shown


def test_widget_foreground_mode_for_colab(tok):
    w = ChatWidget(ChatSession(ScriptedModel(tok, [" Here.<|endoftext|>"]), tok), background=False)
    submit(w, "Where?")
    assert w._worker is None and texts(w) == [("user", "Where?"), ("assistant", "Here.")]


def test_widget_with_the_tiny_model(chat_tiny_run):
    session = ChatSession.from_run(chat_tiny_run, system="You are a helpful assistant.")
    w = ChatWidget(session)
    submit(w, "Hello! What can you do?"); assert w.wait(60)
    assert [r for r, _ in texts(w)] == ["user", "assistant"]
    assert "first token" in w.status.value and "ended:" in w.status.value
    assert not any(s in texts(w)[1][1] for s in STOP_STRINGS)
    session.generation.max_new_tokens = 500; session.generate_kwargs["min_new_tokens"] = 500  # a long reply to stop
    submit(w, "Tell me a long story."); time.sleep(1)
    assert buttons(w)["stop"] and not buttons(w)["send"]
    w.stop_button.click(); assert w.wait(10)
    assert "ended: stopped" in w.status.value and session.last_stats.new_tokens < 500
    assert texts(w)[-1] == ("assistant", session.turns[-1]["content"])
    w.undo_button.click()
    assert len(texts(w)) == 2 and w.input.value == "Tell me a long story."
