"""`neochat chat` end to end, in a process of its own as a user runs it, on a tiny run trained on data no notebook trains on.
(The chat session, the terminal loop with Ctrl-C and the widget's buttons are tested in their notebooks: 06_chat,
11_cli and 07_chat_widget.)"""
import json
from neochat.template import STOP_STRINGS
from cli_server import neochat_cli, one_line


# --- the command ---------------------------------------------------------------------------------------------------

def test_prompt_prints_one_reply_without_markers(chat_tiny_run):
    r = neochat_cli("chat", chat_tiny_run, "--prompt", "How do I keep bread fresh for longer?", "--sampling", "precise")
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    reply = r.stdout
    assert reply.endswith("\n") and reply.count("\n") == reply.strip().count("\n") + 1
    assert reply.strip(), "the reply is empty"
    assert not any(m in reply for m in STOP_STRINGS), reply
    assert "###" not in reply


def test_prompt_sampling_system_and_length(chat_tiny_run):
    r = neochat_cli("chat", chat_tiny_run, "--prompt", "Hi!", "--sampling", "creative", "--system", "Be brief.", "--max-new-tokens", "16")
    assert r.returncode == 0, r.stderr
    assert not any(m in r.stdout for m in STOP_STRINGS), r.stdout


def test_missing_run_dir_is_one_line(tmp_path):  # (a folder that holds no run: tests/test_cli_errors.py)
    one_line(neochat_cli("chat", tmp_path/"missing", "--prompt", "Hi"), "does not exist")


def test_bad_sampling_is_a_usage_error(chat_tiny_run):
    one_line(neochat_cli("chat", chat_tiny_run, "--sampling", "wild", "--prompt", "Hi"), "invalid choice")


def test_interactive_session_with_slash_commands(chat_tiny_run, tmp_path):
    lines = ["Hello there!", "/retry", "/system Answer briefly.", "/sampling precise", "/set max_new_tokens 12",
             "What is a good breakfast?", "/continue", "/undo", "/stats", "/base", f"/save {tmp_path/'t.json'}",
             "/reset", "/nonsense", "/quit", "never read"]
    r = neochat_cli("chat", chat_tiny_run, input="\n".join(lines) + "\n")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert out.count("neochat> ") == 4, out  # the message, /retry, the second message, /continue
    assert "(system prompt: 'Answer briefly.')" in out and "(max_new_tokens = 12)" in out
    assert "(removed: 'What is a good breakfast?')" in out
    assert " tokens in " in out and "ended: " in out  # /stats (tokens/s only after a second token: the tiny run's reply may be shorter)
    assert "base> " in out and "unknown command /nonsense" in out
    assert not any(m in out for m in STOP_STRINGS), out
    saved = json.loads((tmp_path/"t.json").read_text())
    assert [m["role"] for m in saved["messages"]] == ["system", "user", "assistant"]
    assert saved["messages"][0]["content"] == "Answer briefly." and saved["generation"]["sampling"] == "precise"
