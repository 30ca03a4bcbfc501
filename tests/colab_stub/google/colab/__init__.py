"""A stand-in for Google Colab's `google.colab` module, so that the notebooks' Colab branches run offline in tests.

It offers what neochat's notebooks call: `drive.mount` (a local folder stands in for Google Drive),
`output.enable_custom_widget_manager`, and `_is_stand_in`, which tells it apart from the real module."""
import os, sys, types
from pathlib import Path

_is_stand_in = True

def _local(path)->Path:
    "Colab's `path` on this machine: under $NEOCHAT_COLAB_ROOT when set (and not already there)."
    root = os.environ.get("NEOCHAT_COLAB_ROOT")
    if not root or str(path).startswith(root): return Path(path)
    return Path(root)/str(path).lstrip("/")

# Where neochat looks for a mounted Drive (`neochat.session.drive_dir`): Colab's /content/drive/MyDrive, moved under the root.
if os.environ.get("NEOCHAT_COLAB_ROOT"): os.environ.setdefault("NEOCHAT_DRIVE", str(_local("/content/drive/MyDrive")))

def _mount(mountpoint="/content/drive", force_remount=False, **kwargs):
    "Make `mountpoint`/MyDrive exist, as a mounted Drive would (under $NEOCHAT_COLAB_ROOT when set)."
    (_local(mountpoint)/"MyDrive").mkdir(parents=True, exist_ok=True)
    print(f"Mounted at {mountpoint}")

drive = types.ModuleType("google.colab.drive"); drive.mount = _mount
output = types.ModuleType("google.colab.output")
output.enable_custom_widget_manager = lambda: None
output.disable_custom_widget_manager = lambda: None
sys.modules.update({"google.colab.drive": drive, "google.colab.output": output})
