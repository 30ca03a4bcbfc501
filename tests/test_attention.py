"""neochat's GPT-Neo attention against transformers' eager attention, fp32 on CPU: padded batches, past the local
window, packed rows and greedy generation with the KV cache (the full set of checks is in nbs/04a_attention.ipynb)."""
import pytest, torch
from transformers import GPTNeoConfig, GPTNeoForCausalLM
from neochat.attention import PackingCollator, enable_fast_attention, fast_attention_enabled, fast_generate, trained_token_loss

ATOL = 1e-4


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: one thread is faster and steadier
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    cfg = GPTNeoConfig(vocab_size=1000, hidden_size=64, num_layers=4, num_heads=4, window_size=256,
                       attention_types=[[["global", "local"], 2]], max_position_embeddings=1024,
                       bos_token_id=None, eos_token_id=None, pad_token_id=0)
    return GPTNeoForCausalLM(cfg).eval()


def both(model, f):
    "`f(model)` with eager attention, then with neochat's."
    enable_fast_attention(model, False)
    with torch.no_grad(): a = f(model)
    enable_fast_attention(model)
    with torch.no_grad(): b = f(model)
    enable_fast_attention(model, False)
    return a, b


def ids(shape, seed=1):
    return torch.randint(1, 1000, shape, generator=torch.Generator().manual_seed(seed))


def test_switch(model):
    enable_fast_attention(model)
    assert fast_attention_enabled(model) and type(model.transformer.h[0].mlp.act) is torch.nn.GELU
    enable_fast_attention(model, False)
    assert not fast_attention_enabled(model) and type(model.transformer.h[0].mlp.act).__name__ == "NewGELUActivation"
    with pytest.raises(ValueError, match="holds no GPT-Neo"): enable_fast_attention(torch.nn.Linear(2, 2))


def test_past_window(model):
    x = ids((1, 520))
    a, b = both(model, lambda m: m(x).logits)
    torch.testing.assert_close(a, b, atol=ATOL, rtol=0)


@pytest.mark.parametrize("side", ["left", "right"])
def test_padded(model, side):
    x, n = ids((2, 400)), 300
    mask = torch.ones_like(x)
    real = slice(400 - n, None) if side == "left" else slice(0, n)
    mask[1] = 0; mask[1, real] = 1
    pos = (mask.cumsum(-1) - 1).clamp(min=0)
    alone, _ = both(model, lambda m: m(x[1:, real]).logits)
    a, b = both(model, lambda m: m(x, attention_mask=mask, position_ids=pos).logits)
    torch.testing.assert_close(b[1, real], alone[0], atol=ATOL, rtol=0)
    torch.testing.assert_close(a[0], b[0], atol=ATOL, rtol=0)


def test_packed(model):
    lens = [60, 290, 120]
    exs = [ids((n,), seed=i) for i, n in enumerate(lens)]
    row, pos = torch.cat(exs)[None], torch.cat([torch.arange(n) for n in lens])[None]
    alone = torch.cat(both(model, lambda m: [m(x[None]).logits[0] for x in exs])[0])
    packed = both(model, lambda m: m(row, position_ids=pos).logits[0])[1]
    torch.testing.assert_close(packed, alone, atol=ATOL, rtol=0)


def test_packing_collator_loss(model):
    feats = [{"input_ids": ids((n,), seed=n).tolist()} for n in (150, 300, 80, 40)]
    for f in feats: f["labels"] = [-100] * 5 + f["input_ids"][5:]
    batch = PackingCollator(max_length=512, pad_token_id=0)(feats)
    enable_fast_attention(model)
    with torch.no_grad():
        packed, fast = model(**batch).loss, trained_token_loss(model, **batch)
        alone = [(model(torch.tensor([f["input_ids"]]), labels=torch.tensor([f["labels"]])).loss, len(f["labels"]) - 5)
                 for f in feats]
    enable_fast_attention(model, False)
    want = sum(l * n for l, n in alone) / sum(n for _, n in alone)
    torch.testing.assert_close(packed, want, atol=1e-5, rtol=0)
    torch.testing.assert_close(fast, want, atol=1e-5, rtol=0)


def test_generate(model):
    prompt = ids((2, 16)); mask = torch.ones_like(prompt); mask[1, :5] = 0
    a, b = both(model, lambda m: m.generate(prompt, attention_mask=mask, max_new_tokens=260, do_sample=False))
    assert a.shape == (2, 276) and torch.equal(a, b)
    enable_fast_attention(model)
    assert torch.equal(fast_generate(model, prompt[:1], max_new_tokens=260), a[:1])
    enable_fast_attention(model, False)
