"""A GGUF base model end to end: `model.name` a folder holding one `.gguf`, trained a couple of steps with its own
tokenizer, recorded by its absolute file path, and reopened for chat. The GGUF is neochat's tiny Llama (`tiny_gguf`),
written offline with the `gguf` package."""
import json, tomllib
import pytest

pytest.importorskip("gguf")


@pytest.fixture(scope="module")
def gguf_run(tmp_path_factory):
    from neochat.config import get_preset
    from neochat.sources import asset
    from neochat.model import tiny_gguf
    from neochat.train import train
    cfg = get_preset("tiny")
    cfg.model.name = str(tiny_gguf().parent)  # the folder: it holds exactly one .gguf
    cfg.lora.targets = ["q_proj", "v_proj"]  # a Llama's names (the tiny preset's all-linear is GPT-Neo's)
    cfg.data.sources, cfg.data.eval_size = [str(asset("unseen_guanaco.jsonl"))], 4
    cfg.train.output_dir = str(tmp_path_factory.mktemp("gguf") / "run")
    cfg.train.max_steps, cfg.train.batch_size = 2, 4
    return train(cfg, live_plot=False)


def test_run_records_the_gguf_file(gguf_run):
    from neochat.model import tiny_gguf
    d, want = gguf_run.run_dir, str(tiny_gguf().resolve())
    assert json.loads((d / "run.json").read_text())["base_model"] == want
    assert tomllib.loads((d / "neochat.toml").read_text())["model"]["name"] == want
    assert gguf_run.summary["steps"] == 2


def test_tokenizer_comes_from_the_gguf(gguf_run):
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(gguf_run.run_dir)
    assert (len(tok), tok.eos_token) == (1257, "<|endoftext|>")  # the GGUF's own BPE, not GPT-Neo's 50,257 tokens


def test_byte_level_lengths_are_fitted_by_turns(gguf_run):
    s = gguf_run.summary  # a small vocabulary makes long token sequences: some conversations lose trailing turns
    assert s["truncation"] == "turns" and s["cut_conversations"] == 0
    assert s["whole_conversations"] + s["shortened_conversations"] == s["train_conversations"]
    assert s["shortened_conversations"] > 0


def test_run_reopens_for_chat(gguf_run):
    from neochat.chat import ChatSession
    session = ChatSession.from_run(gguf_run.run_dir, sampling="precise")
    assert type(session.model).__name__ == "PeftModelForCausalLM"
    assert session.model.get_base_model().config.model_type == "llama"
    session.generation.max_new_tokens = 8
    assert isinstance(session.send("Hello"), str)
    assert [m["role"] for m in session.messages] == ["user", "assistant"]


def test_adapter_export_loads_with_its_cards_code(gguf_run, tmp_path, capsys):
    "The adapter names the folder holding the .gguf as its base: the card's own code must say which file to open there."
    from neochat.export import export_run
    out = export_run(gguf_run.run_dir, tmp_path / "export")
    card = (out / "README.md").read_text()
    code = card.split("## Use it")[1].split("```python\n")[1].split("```")[0]
    assert 'gguf_file="tiny-llama-Q8_0.gguf"' in code
    scope = {}
    exec(compile(code, "card", "exec"), scope)  # loads the adapter and its GGUF base, then prints a reply
    assert type(scope["model"]).__name__ == "PeftModelForCausalLM"
    assert scope["model"].get_base_model().config.model_type == "llama"
