"""`neochat eval` end to end on two tiny runs: one the neochat way on the bundled sample (`cached_run`: trained once per
machine, so usually by 08_evaluation before these tests), and one trained here the original project's way (its
template trains whole conversations, both sides, with no EOS). Both are evaluated, as a user would, on
`asset("unseen_guanaco.jsonl")` (bundled with neochat), which no run trains on."""
import json
from pathlib import Path
import pytest
from neochat.sources import asset
from neochat.template import turn_start
from cli_server import neochat_cli

UNSEEN = asset("unseen_guanaco.jsonl")
MEASURED = ("loss", "perplexity", "stop_rate", "eos_rate", "empty_rate", "leakage_rate", "truncation_rate", "repeated_4grams",
            "distinct_2", "length_median", "length_p90", "reference_median", "reference_p90", "length_ratio", "rouge_l", "prompts", "seconds")

# The original project's training format: the whole conversation is trained (both sides), and no EOS ends a reply.
ORIGINAL_TEMPLATE = (
    "{%- for message in messages -%}{% generation %}"
    "{%- if message['role'] == 'system' -%}{{ message['content'] + '\n\n' }}"
    "{%- elif message['role'] == 'user' -%}{{ '### Human: ' + message['content'] + '\n' }}"
    "{%- else -%}{{ '### Assistant: ' + message['content'] + '\n' }}{%- endif -%}"
    "{% endgeneration %}{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '### Assistant:' }}{%- endif -%}")


BUDGET = 32 # new tokens per reply: the tiny runs stop within it or never (the default budget, 1.5x the references' 95th
            # percentile, is chosen and printed in 08_evaluation; here it would only time how long the base model rambles)

def neochat_eval(*args):
    "Run `neochat eval ARGS...` in a process of its own, as a user would (`cli_server.neochat_cli`); the CompletedProcess."
    return neochat_cli("eval", *args, timeout=900)


def train_tiny(out_dir, original_way=False):
    "Train the `tiny` preset on the bundled sample; `original_way` swaps in the original's template (neochat refuses it)."
    import neochat.train as nt
    from neochat.session import cached_run
    from datasets import DatasetDict
    from neochat.config import get_preset
    from neochat.sources import load_conversations
    from neochat.model import load_tokenizer
    if not original_way: return cached_run(get_preset("tiny"))  # the run the notebooks made, if they ran first
    cfg = get_preset("tiny")
    cfg.train.output_dir = str(out_dir)
    # 40 steps teach the tiny model the markers (measured over builds: 44-69% of the replies to the unseen prompts
    # leak, none ends with EOS); its eval loss is not needed, so it trains without an eval split.
    cfg.train.max_steps = cfg.train.save_steps = 40
    data = DatasetDict(train=load_conversations(cfg.data)[0]["train"])
    def original_tokenizer(name):
        tok = load_tokenizer(name); tok.chat_template = ORIGINAL_TEMPLATE; return tok
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(nt, "load_tokenizer", original_tokenizer)
        mp.setattr(nt, "check_template", lambda tok: tok)  # neochat's own check would stop this run
        run_dir = nt.train(cfg, data=data, live_plot=False).run_dir
    # Evaluate it like any run, prompted with neochat's template (the same `### Human:`/`### Assistant:` text).
    from transformers import AutoTokenizer
    from neochat.template import use_chat_template
    use_chat_template(AutoTokenizer.from_pretrained(run_dir)).save_pretrained(run_dir)
    return run_dir


@pytest.fixture(scope="module")
def eval_runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("runs")
    return train_tiny(d/"tiny"), train_tiny(d/"original", original_way=True)


@pytest.fixture(scope="module")
def eval_single(eval_runs, tmp_path_factory):
    d = tmp_path_factory.mktemp("single")
    r = neochat_eval(eval_runs[0], "--data", UNSEEN, "--limit", 16, "--max-new-tokens", BUDGET, "--output", d/"X.json")
    assert r.returncode == 0, r.stderr[-3000:]
    return r, json.loads((d/"X.json").read_text()), d


@pytest.fixture(scope="module")
def eval_both(eval_runs, tmp_path_factory):
    d = tmp_path_factory.mktemp("both")
    r = neochat_eval(eval_runs[0], eval_runs[1], "--data", UNSEEN, "--limit", 16, "--max-new-tokens", BUDGET, "--output", d/"both.json")
    assert r.returncode == 0, r.stderr[-3000:]
    return r, json.loads((d/"both.json").read_text()), d


def test_report_measures_base_and_finetuned(eval_single, eval_runs):
    r, rep, d = eval_single
    (run,) = rep["runs"]
    for side in ("base", "tuned"):
        for k in MEASURED: assert run[side][k] is not None, (side, k)
        assert run[side]["prompts"] == len(run[side]["replies"]) == 16
        assert len(run[side]["showcase"]) == 4
    assert run["data"] == str(UNSEEN)
    for label in ("loss (assistant tokens)", "stop rate", "role leakage", "repeated 4-grams", "reference replies longer than max_new_tokens"):
        assert label in r.stdout
    assert f"up to {BUDGET} new tokens" in r.stdout and rep["runs"][0]["settings"]["max_new_tokens"] == BUDGET
    assert sorted(p.name for p in d.iterdir()) == ["X.json", "X.md", "X_losses.png", "X_metrics.png"]
    md = (d/"X.md").read_text()
    assert "![metrics](X_metrics.png)" in md and "How to keep healthy?" in md
    assert "keep their measurement on the runs' own held-out data" in r.stdout  # --data: the card is left as it was
    assert not (eval_runs[0]/"eval"/"card.json").exists() and "`neochat eval` measured the model" not in (eval_runs[0]/"README.md").read_text()


def test_finetuned_beats_base(eval_single):
    base, tuned = eval_single[1]["runs"][0]["base"], eval_single[1]["runs"][0]["tuned"]
    assert tuned["loss"] < base["loss"], (tuned["loss"], base["loss"])
    assert tuned["perplexity"] < base["perplexity"]
    assert tuned["stop_rate"] > base["stop_rate"], (tuned["stop_rate"], base["stop_rate"])
    assert tuned["truncation_rate"] < base["truncation_rate"]


def test_rates_come_from_the_replies(eval_single):
    "Every rate is the share of replies with the property, and each reply's flags agree with its raw text."
    run = eval_single[1]["runs"][0]
    limit = run["settings"]["max_new_tokens"]
    for side in (run["base"], run["tuned"]):
        replies = side["replies"]
        for key, flag in (("stop_rate", "stopped"), ("eos_rate", "eos"), ("empty_rate", "empty"), ("leakage_rate", "leaked"),
                          ("truncation_rate", "truncated")):
            assert side[key] == pytest.approx(sum(x[flag] for x in replies) / len(replies))
        for x in replies:
            has_stop = turn_start(x["raw"]) is not None
            assert x["empty"] == (x["reply"] == "") and x["reply"] == x["raw"][:turn_start(x["raw"])].strip()
            assert x["stopped"] == (not x["empty"] and (x["eos"] or has_stop))  # an empty reply is a failure, not a stop
            assert x["tokens"] <= limit
            assert x["truncated"] == (not (x["eos"] or has_stop) and x["tokens"] == limit)
            if has_stop: assert x["leaked"]
        assert side["length_ratio"] == pytest.approx(side["length_median"] / side["reference_median"])


def test_the_original_way_leaks(eval_both):
    "A run trained the original's way writes the user's next turn: leakage rises, EOS endings fall, on the same prompts."
    good, orig = eval_both[1]["runs"]
    assert orig["tuned"]["leakage_rate"] > good["tuned"]["leakage_rate"] + 0.25, (orig["tuned"]["leakage_rate"], good["tuned"]["leakage_rate"])
    assert orig["tuned"]["leakage_rate"] > orig["base"]["leakage_rate"]
    assert orig["tuned"]["eos_rate"] < good["tuned"]["eos_rate"] - 0.25, (orig["tuned"]["eos_rate"], good["tuned"]["eos_rate"])
    assert any("### Human:" in x["raw"] for x in orig["tuned"]["replies"])


def test_compared_runs_share_one_base_and_are_deterministic(eval_single, eval_both):
    good, orig = eval_both[1]["runs"]
    assert good["base"] == orig["base"]  # same base model, data and settings: measured once
    assert "| metric | base | tiny | original |" in eval_both[0].stdout  # runs are named after their folders
    again = eval_single[1]["runs"][0]
    for side in ("base", "tuned"):  # another process, same seed: the same replies and numbers
        strip = lambda s: {k: v for k, v in s.items() if k != "seconds"}
        assert strip(good[side]) == strip(again[side])


@pytest.mark.parametrize("args, msg", [
    (["/nonexistent/run"], "run directory /nonexistent/run does not exist"),
    (["RUN", "--limit", "-1"], "--limit must be 0 (all) or a positive number"),
    (["RUN", "--data", "sample"], "are in the training data of"),  # the tiny run trained on the sample
])
def test_bad_input_is_one_line(args, msg, eval_runs):
    r = neochat_eval(*[eval_runs[0] if a == "RUN" else a for a in args])
    assert r.returncode == 2, r.stdout
    err = r.stderr.strip()
    assert "Traceback" not in r.stderr and len(err.splitlines()) == 1, err
    assert err.startswith("neochat: error: ") and msg in err, err
