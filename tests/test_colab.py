"""neochat's Colab branches, run offline in a process that starts as if in Google Colab (tests/colab_stub on its path).

The notebooks that open a run (06, 07, 08) also run whole in this mode from test.sh; this file checks the parts they
cannot reach without a GPU: where a run goes on Google Drive, which preset a GPU gets, and a Drive that will not mount."""
import json, os, subprocess, sys, textwrap
from pathlib import Path

STUB = Path(__file__).parent/"colab_stub"

def in_colab(code:str, root:Path)->subprocess.CompletedProcess:
    "Run `code` in a fresh Python that imports the stand-in `google.colab`, with Colab's /content under `root`."
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(STUB), os.environ.get("PYTHONPATH", "")]),
           "NEOCHAT_COLAB_ROOT": str(root)}
    env.pop("NEOCHAT_DRIVE", None)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, cwd=root, capture_output=True, text=True, timeout=300)

def test_colab_runs_live_on_drive(tmp_path):
    r = in_colab("""
        import json, os
        from pathlib import Path
        from neochat.config import in_colab
        from neochat.session import drive_dir, mount_drive, notebook_run, notebook_config
        from neochat.config import in_notebook
        print(json.dumps(dict(colab=in_colab(), notebook=in_notebook(), drive_before=drive_dir().is_dir())))
        runs = mount_drive()                                    # asks Colab to mount Drive, which the stand-in does
        big = notebook_config("guanaco+orca", drive=True, memory_gib=14.7)  # a T4
        small = notebook_config("orca", drive=True, memory_gib=8.0)
        local = notebook_config("guanaco", drive=False, memory_gib=40.0)
        d = runs/"neochat"; d.mkdir(parents=True); (d/"run.json").write_text("{}")  # a finished run, as 05 leaves it
        found = notebook_run()
        import google.colab.drive as gd
        def refuse(*a, **k): raise RuntimeError("mount failed: user declined")
        gd.mount = refuse
        os.environ["NEOCHAT_DRIVE"] = str(Path.cwd()/"elsewhere"/"MyDrive")  # not mounted: mounting is tried, and fails
        fallback = mount_drive()
        print(json.dumps(dict(runs=str(runs), found=str(found), fallback=str(fallback),
                              presets=[big.model.name, small.model.name, local.model.name],
                              sources=[big.data.sources, small.data.sources],
                              outputs=[big.train.output_dir, small.train.output_dir, local.train.output_dir])))
    """, tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    first, last = json.loads(lines[0]), json.loads(lines[-1])
    assert first == dict(colab=True, notebook=False, drive_before=False)  # Colab, but a script: no live plot
    drive = tmp_path/"content"/"drive"/"MyDrive"
    assert last["runs"] == str(drive/"neochat"/"runs")
    assert last["found"] == str(drive/"neochat"/"runs"/"neochat")
    assert f"Using the run in {drive/'neochat'/'runs'/'neochat'}." in r.stdout
    assert last["presets"] == ["EleutherAI/gpt-neo-1.3B", "EleutherAI/gpt-neo-125m", "EleutherAI/gpt-neo-1.3B"]
    assert last["sources"] == [["guanaco", "orca"], ["orca"]]
    assert last["outputs"][:2] == [str(drive/"neochat"/"runs"/"neochat")] * 2
    assert last["outputs"][2] == "runs/neochat"
    assert "a GPU with 14.7 GiB: preset gpt-neo-1.3b" in r.stdout
    # a Drive that does not mount is one line, and runs stay in the runtime
    assert last["fallback"] == "runs"
    assert "Google Drive was not mounted (mount failed: user declined): runs stay in this runtime's runs/ folder." in r.stdout
    assert "Traceback" not in r.stderr
