"""The Python API at its boundary: public functions given None, a wrong type, a negative, NaN or an empty value refuse
it in one line naming the parameter and the value (a TypeError for the wrong kind, a ValueError out of range), or
give the meaning their docs state. Each row was a wrong answer or a raw error deep inside before (issue 24's red team:
`shuffle_select(x, -1)` dropped the last item, `as_conversations("str")` returned characters, ...)."""
import pytest

NAN = float("nan")
CONV = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]
CONVS = [CONV] * 10


def _sources(): import neochat.sources as m; return m
def _template(): import neochat.template as m; return m
def _stats(): import neochat.stats as m; return m
def _model(): import neochat.model as m; return m
def _report(): import neochat.report as m; return m


# (module, function, args, kwargs, the error, words it must say)
REFUSED = [
    (_sources, "load_source", ("sample",), dict(limit=-3), ValueError, "limit must be a whole number of at least 0, got -3"),
    (_sources, "load_source", ("sample",), dict(limit=2.5), TypeError, "limit must be a whole number, got 2.5"),
    (_sources, "load_source", ("",), {}, ValueError, "source must be sample, guanaco, orca, a hub id or a file, got ''"),
    (_sources, "load_source", (None,), {}, TypeError, "source must be text, got None"),
    (_sources, "shuffle_select", (CONVS, -1), {}, ValueError, "limit must be a whole number of at least 0, got -1"),
    (_sources, "shuffle_select", (CONVS, None), {}, TypeError, "limit must be a whole number, got None"),
    (_sources, "hold_out", (CONVS, -0.5), {}, ValueError, "size must be a number of at least 0, got -0.5"),
    (_sources, "hold_out", (CONVS, NAN), {}, ValueError, "size must be a number, got nan"),
    (_sources, "hold_out", (CONVS, 2.5), {}, ValueError, "size must be a share below 1 or a whole count, got 2.5"),
    (_sources, "hold_out", (CONVS, "0.1"), {}, TypeError, "size must be a number, got '0.1'"),
    (_sources, "mix", ([CONVS, CONVS],), dict(weights=[-1, 1]), ValueError, "weights[0] must be a number of at least 0, got -1"),
    (_sources, "mix", ([CONVS, CONVS],), dict(weights=[0, 0]), ValueError, "weights must be weights with a positive sum, got [0, 0]"),
    (_sources, "mix", ([CONVS, CONVS],), dict(weights=[NAN, 1]), ValueError, "weights[0] must be a number of at least 0, got nan"),
    (_sources, "mix", ([CONVS],), dict(limit=-1), ValueError, "limit must be a whole number of at least 0, got -1"),
    (_sources, "as_conversations", ("str",), {}, TypeError, "data must be a list of conversations or of `messages` rows, a Dataset or a DatasetDict, got 'str'"),
    (_sources, "as_conversations", (None,), {}, TypeError, "data must be a list of conversations"),
    (_sources, "as_conversations", ({"messages": CONV},), {}, TypeError, "data must be a list of conversations"),
    (_template, "encode_chat", (None, [{"role": "bot", "content": "Hi"}]), {}, ValueError, "messages[0] must be a {'role': system, user or assistant, 'content': text}"),
    (_template, "encode_chat", (None, [CONV[0], {"role": "assistant", "content": None}]), {}, ValueError, "messages[1] must be a"),
    (_template, "encode_chat", (None, ["Hi"]), {}, ValueError, "messages[0] must be a"),
    (_stats, "conversation_stats", (CONVS,), dict(max_length=-1), ValueError, "max_length must be a whole number of at least 1, got -1"),
    (_stats, "conversation_stats", (CONVS,), dict(max_length=None), TypeError, "max_length must be a whole number, got None"),
    (_stats, "conversation_stats", (CONVS,), dict(truncation="middle"), ValueError, "truncation must be one of turns, tokens, got 'middle'"),
    (_stats, "conversation_stats", ("str",), {}, TypeError, "data must be a list of conversations"),
    (_model, "pick_precision", ("nosuch",), {}, ValueError, "setting must be one of auto, bf16, fp16, fp32, got 'nosuch'"),
    (_model, "pick_precision", (None,), {}, TypeError, "setting must be text, got None"),
    (_model, "weights_dtype", ("nosuch",), {}, ValueError, "precision must be one of bf16, fp16, fp32, got 'nosuch'"),
    (_model, "resolve_model_name", ("",), {}, ValueError, "name must be a hub id, a folder, a GGUF file or 'tiny', got ''"),
    (_model, "resolve_model_name", (None,), {}, TypeError, "name must be text, got None"),
    (_model, "gpt_neo_config", (-1, 2, 2), {}, ValueError, "hidden_size must be a whole number of at least 1, got -1"),
    (_model, "gpt_neo_config", (64, 0, 2), {}, ValueError, "num_layers must be a whole number of at least 1, got 0"),
    (_model, "gpt_neo_config", (64, 2, 2.0), {}, TypeError, "num_heads must be a whole number, got 2.0"),
    (_model, "gpt_neo_config", (63, 2, 2), {}, ValueError, "hidden_size must be a multiple of num_heads (2), got 63"),
    (_report, "check_runs", ([],), {}, ValueError, "give at least one run directory"),
    (_report, "check_runs", ("/nonexistent/run1",), {}, FileNotFoundError, "run directory /nonexistent/run1 does not exist"),  # one run, not 18 characters
]


@pytest.mark.parametrize("module,name,args,kwargs,error,words", REFUSED, ids=[f"{r[1]}-{i}" for i, r in enumerate(REFUSED)])
def test_refused_in_one_line(module, name, args, kwargs, error, words):
    if name == "encode_chat":
        from neochat.template import gpt_neo_chat_tokenizer
        args = (gpt_neo_chat_tokenizer(), *args[1:])
    with pytest.raises(error) as e: getattr(module(), name)(*args, **kwargs)
    said = str(e.value)
    assert words in said and "\n" not in said, said


def test_documented_meanings():
    "The edge values that mean something, mean what the docs say."
    from neochat.sources import as_conversations, hold_out, mix, shuffle_select
    assert len(shuffle_select(CONVS, 0)) == 10 and len(shuffle_select(CONVS, 3)) == 3  # 0 keeps all
    assert [len(p) for p in hold_out(CONVS, 0)] == [10, 0] and [len(p) for p in hold_out(CONVS, 0.2)] == [8, 2]
    assert [len(p) for p in hold_out(CONVS, 3)] == [7, 3] and [len(p) for p in hold_out(CONVS, 50)] == [1, 9]  # one stays to train
    a, b = ([[{"role": "user", "content": f"{s}{i}"}, CONV[1]] for i in range(10)] for s in "ab")
    mixed = mix([a, b], weights=[0, 1])
    assert len(mixed) == 10 and all(c[0]["content"].startswith("b") for c in mixed)  # a weight of 0 leaves a source out
    assert as_conversations([{"messages": CONV}]) == [CONV]
    assert len(mix([a, b], weights=[1, 1], limit=4)) == 4


# The sweep: every public function, its required arguments all None, then all a wrong type, a negative, NaN, an
# empty list. What it may do: return (the value's documented meaning), or refuse on purpose, in one line, from
# neochat's own code (not an AttributeError, KeyError or `'NoneType' object is not iterable` from deep inside).
NOT_SWEPT = {"main", "serve", "launch", "push_to_hub", "run_cli"}  # they start servers or processes, or go online
RAW = (AttributeError, KeyError, IndexError, NameError, UnboundLocalError, StopIteration, RecursionError)


def _public_functions():
    import importlib, inspect, pkgutil, neochat
    for m in pkgutil.iter_modules(neochat.__path__):
        if m.name.startswith("_"): continue
        mod = importlib.import_module(f"neochat.{m.name}")
        for name in mod.__all__:
            f = getattr(mod, name)
            if inspect.isfunction(f) and f.__module__ == mod.__name__ and name not in NOT_SWEPT: yield mod.__name__, name, f


def _refusal(f, args):
    "None when `f(*args)` returns or refuses cleanly, else what went wrong."
    import inspect, os, traceback, neochat
    try:
        r = f(*args)
        if inspect.isgenerator(r): next(r, None)
        return None
    except Exception as e:
        said, here = str(e), os.path.dirname(neochat.__file__)
        origin = traceback.extract_tb(e.__traceback__)[-1].filename
        if "\n" in said.strip(): return f"{type(e).__name__} of {len(said.splitlines())} lines: {said[:120]!r}"
        if isinstance(e, RAW) or (isinstance(e, TypeError) and "must be" not in said): return f"raw {type(e).__name__}: {said[:120]!r}"
        if not origin.startswith(here) and not isinstance(e, OSError): return f"{type(e).__name__} from {origin}: {said[:120]!r}"
        return None


def test_every_public_function_refuses_bad_arguments_in_one_line(tmp_path, monkeypatch):
    import inspect
    import huggingface_hub.constants
    monkeypatch.chdir(tmp_path)  # whatever a call writes for a path of 'str' lands here
    monkeypatch.setenv("HF_HUB_OFFLINE", "1"); monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # 'str' is no hub id to look up
    wrong, swept = [], 0
    for module, name, f in _public_functions():
        params = [p for p in inspect.signature(f).parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        required = [p for p in params if p.default is p.empty]
        if not required: continue
        swept += 1
        for bad in (None, "str", -1, NAN, [], 3.5):
            if (why := _refusal(f, [bad] * len(required))): wrong.append(f"{module}.{name}({bad!r}, ...): {why}")
    assert swept > 150, swept  # the sweep reached the API (it has ~190 functions with required arguments)
    assert not wrong, f"{len(wrong)} calls answered with a raw error:\n" + "\n".join(wrong)
