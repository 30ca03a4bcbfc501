#!/usr/bin/env python
"""Benchmark: `neochat data` (and optionally `neochat train`'s loading) on a big JSON-lines file, time and peak memory.

    python tools/bench_data.py            # a 50 MB guanaco file (`neochat.testing.big_guanaco_file`), in a temp folder
    python tools/bench_data.py --mb 200 --train

Each command runs in a process of its own; its peak memory is that process's maximum resident set (getrusage). The
same command on the bundled `sample` (72 KB) gives the cost of the process itself (Python, torch, the tokenizer), so
that what the data adds is the difference. Numbers are printed, not asserted: this is a benchmark, not a test.
"""
import argparse, os, subprocess, sys, tempfile, time
from pathlib import Path


NEOCHAT = str(Path(sys.executable).parent/"neochat")  # the command of this environment


def measure(argv:list)->tuple:
    "(seconds, peak resident MB) of `argv` run to its end in a child process."
    with tempfile.TemporaryFile() as err:
        t, child = time.perf_counter(), subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        if code := os.waitstatus_to_exitcode(status):
            err.seek(0); sys.exit(f"{' '.join(argv)} failed (exit {code}): {err.read().decode()[-2000:]}")
    return time.perf_counter() - t, usage.ru_maxrss / 1024

def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--mb", type=float, default=50, help="size of the generated file (default 50)")
    p.add_argument("--train", action="store_true", help="also `neochat train --preset tiny --max-steps 1` on it")
    args = p.parse_args()
    from neochat.testing import big_guanaco_file
    with tempfile.TemporaryDirectory() as d:
        f = Path(d)/"big.jsonl"
        rows, size = big_guanaco_file(f, args.mb)
        print(f"file: {size / 1e6:.1f} MB, {rows:,} rows (guanaco format); {os.cpu_count()} CPU cores")
        jobs = {"neochat data": lambda src, tag: [NEOCHAT, "data", src]}
        if args.train: jobs["neochat train (tiny, 1 step)"] = lambda src, tag: [
            NEOCHAT, "train", "--preset", "tiny", "--max-steps", "1", "--data", src, "--output", str(Path(d)/f"run-{tag}")]
        for name, cmd in jobs.items():
            base_s, base_mb = measure(cmd("sample", "sample"))
            s, mb = measure(cmd(str(f), "big"))
            file_mb = size / 2**20
            print(f"{name}: {s:.1f} s, peak {mb:,.0f} MB ({mb / file_mb:.1f}x the file); on `sample`: {base_s:.1f} s, "
                  f"{base_mb:,.0f} MB; the data adds {mb - base_mb:,.0f} MB ({(mb - base_mb) / file_mb:.1f}x the file)")

if __name__ == "__main__": main()
