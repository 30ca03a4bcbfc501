"""neochat's real training path on a GPU: `neochat.train.train` (TRL's SFTTrainer, assistant-only loss, neochat's
packing and attention) on a GPT-Neo built from its config (random weights, nothing downloaded), with
`train.compile` on (what its default, auto, does on CUDA), then off, then packing off too (TRL's padded batches).

For each variant it prints and writes (to $OUT/train_check.json, else ./train_check.json, after every variant):
whether it finished, real (non-padding) tokens per second between the first logged step and the last one (so the
compilation and the first step are left out), seconds in all, peak GPU memory and the final train loss.

    python tools/gpu_train_check.py                          # GPT-Neo 1.3B architecture, on the GPU machine
    python tools/gpu_train_check.py --arch tiny --steps 6    # the same logic on a CPU, in a minute
"""
import argparse, json, math, os, sys, tempfile, time, traceback
from pathlib import Path
import torch
from transformers import GPTNeoForCausalLM

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from neochat.bench import TokenClock, bench_config
from neochat.workloads import synthetic_messages
from neochat.config import get_preset, gpt_neo_tokenizer_dir
from neochat.model import load_tokenizer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="gpt-neo-1.3b")
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--grad-accum", type=int, default=2)
    ap.add_argument("--variants", default="compile,no-compile,padded")
    a = ap.parse_args()
    out = Path(os.environ.get("OUT", "."))/"train_check.json"
    cuda = torch.cuda.is_available()
    res = dict(device=torch.cuda.get_device_name() if cuda else "CPU", arch=a.arch, torch=torch.__version__,
               versions={k: __import__(k).__version__ for k in ("transformers", "trl", "peft", "datasets")}, runs={})
    work = Path(tempfile.mkdtemp())
    mdir = work/"model"
    torch.manual_seed(0)
    cfg_m = bench_config(a.arch); cfg_m.bos_token_id = cfg_m.eos_token_id = 50256
    GPTNeoForCausalLM(cfg_m).to(torch.bfloat16 if cuda else torch.float32).save_pretrained(mdir)
    load_tokenizer(str(gpt_neo_tokenizer_dir())).save_pretrained(mdir)
    data = synthetic_messages(a.batch_size * a.grad_accum * a.steps)  # guanaco-like lengths (median 250), as the bench's
    print(f"{res['device']}: {a.arch} saved to {mdir}; {len(data['train'])} conversations", flush=True)
    from neochat.train import train
    for v in a.variants.split(","):
        cfg = get_preset("gpt-neo-1.3b")
        cfg.model.name = str(mdir)
        t = cfg.train
        t.output_dir, t.max_steps, t.batch_size, t.grad_accum = str(work/v), a.steps, a.batch_size, a.grad_accum
        t.logging_steps, t.eval_steps, t.save_steps = 5, a.steps, a.steps
        t.compile = "on" if v == "compile" else "off"  # on a CUDA GPU "on" is what the default "auto" does
        t.packing = "off" if v == "padded" else "auto"
        tp = TokenClock()
        if cuda: torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        try:
            r = train(cfg, data=data, callbacks=[tp], live_plot=False)
            run = dict(ok=True, tokens_per_s=tp.tokens_per_s(), seconds=round(time.perf_counter() - t0, 1),
                       packing=r.summary["packing"], compiled=r.summary["compiled"],
                       first_eval_loss=r.summary["first_eval_loss"], final_eval_loss=r.summary["final_eval_loss"],
                       final_train_loss=r.summary["final_train_loss"])
        except Exception as e:
            traceback.print_exc()
            run = dict(ok=False, error=f"{type(e).__name__}: {str(e)[:400]}", seconds=round(time.perf_counter() - t0, 1))
        if cuda: run["peak_memory_gb"] = round(torch.cuda.max_memory_allocated() / 1e9, 2)
        res["runs"][v] = run
        out.write_text(json.dumps(res, indent=1))
        print(f"[train check] {v}: {run}", flush=True)
    print("JSON " + json.dumps(res))


if __name__ == "__main__": main()
