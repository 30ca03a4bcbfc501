"""Run `neochat ARGS` as a user would, each in a process of its own, without paying the start-up every time.

One server process imports neochat (and torch, transformers, trl, peft, datasets) once; each command line then runs
in a fork of it: a fresh process with its own exit status, stdin, stdout and stderr, and nothing left over from earlier
commands. Importing those libraries takes 4-8 s on a 2-core machine, which the tests used to pay about 40 times.

`ENV` is the environment of every command the tests run (offline, no progress bars); `one_line` is the check that a
failed command said why in one line. (`neochat.testing.run_cli` runs the command in the test's own process, for the
few tests that change something there first.)"""
import atexit, json, os, re, subprocess, sys, tempfile

ENV = dict(os.environ, HF_HUB_OFFLINE="1", TQDM_DISABLE="1", TOKENIZERS_PARALLELISM="false")

SERVER = r"""
import json, os, resource, signal, sys, time, traceback
import torch, transformers, neochat.cli, neochat.data, neochat.train, neochat.rundir, neochat.session, neochat.chat, neochat.report
requests = sys.stdin
for line in requests:
    req = json.loads(line)
    pid = os.fork()
    if pid == 0:
        os.setsid()
        if req["cwd"]: os.chdir(req["cwd"])
        for name, limit in req["limits"].items(): resource.setrlimit(getattr(resource, name), (limit, limit))
        for fd, path, mode in ((0, req["stdin"], os.O_RDONLY), (1, req["stdout"], os.O_WRONLY), (2, req["stderr"], os.O_WRONLY)):
            os.dup2(os.open(path, mode), fd)
        sys.stdin = open(0, closefd=False)  # not the server's buffered request stream
        try: code = neochat.cli.main(req["args"])
        except SystemExit as e: code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        except BaseException: traceback.print_exc(); code = 1
        sys.stdout.flush(); sys.stderr.flush(); os._exit(code or 0)
    deadline, status = time.time() + req["timeout"], None
    while status is None:
        done, st = os.waitpid(pid, os.WNOHANG)
        if done: status = os.waitstatus_to_exitcode(st)
        elif time.time() > deadline: os.killpg(pid, signal.SIGKILL); os.waitpid(pid, 0); status = "timeout"
        else: time.sleep(0.05)
    print(json.dumps(status), flush=True)
"""

_server = None

def _start():
    global _server
    if _server is None or _server.poll() is not None:
        _server = subprocess.Popen([sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=ENV)
        atexit.register(_server.kill)
    return _server

def neochat_cli(*args, input:str="", cwd=None, timeout:float=300, limits:dict=None)->subprocess.CompletedProcess:
    "Run `neochat ARGS` (with `input` on stdin, in `cwd`, under `limits`: {'RLIMIT_FSIZE': bytes, ...}) in a fresh process forked from the server; its result."
    server = _start()
    with tempfile.TemporaryDirectory() as d:
        io = {k: os.path.join(d, k) for k in ("stdin", "stdout", "stderr")}
        with open(io["stdin"], "w", encoding="utf-8") as f: f.write(input or "")
        for k in ("stdout", "stderr"): open(io[k], "w").close()
        server.stdin.write(json.dumps(dict(args=[str(a) for a in args], cwd=str(cwd) if cwd else None, timeout=timeout, limits=limits or {}, **io)) + "\n")
        server.stdin.flush()
        status = json.loads(server.stdout.readline())
        if status == "timeout": raise subprocess.TimeoutExpired(["neochat", *map(str, args)], timeout)
        read = lambda k: open(io[k], encoding="utf-8", errors="replace").read()
        return subprocess.CompletedProcess(["neochat", *map(str, args)], status, read("stdout"), read("stderr"))


def one_line(r, *needles, status=2):
    """The single stderr line of a failed command (`neochat: error: ...`, `neochat data: error: ...` for a usage error,
    `neochat: stopped: ...` after Ctrl-C), after checking the exit status, that there is one line and no traceback, and
    that it holds each of `needles`."""
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert r.returncode == status, (r.returncode, r.stderr[-2000:])
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert re.match(r"neochat( [a-z]+)?: (error|stopped): ", lines[0]), lines[0]
    for n in needles: assert n in lines[0], (n, lines[0])
    return lines[0]
