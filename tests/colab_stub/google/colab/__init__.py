"""A stand-in for Google Colab's `google.colab` module, so that the notebooks' Colab branches run offline in tests.

It offers what neochat's notebooks call: `drive.mount` (a local folder stands in for Google Drive),
`output.enable_custom_widget_manager`, and `_is_stand_in`, which tells it apart from the real module."""
import os, sys, types
from pathlib import Path

_is_stand_in = True

def _mount(mountpoint="/content/drive", force_remount=False, **kwargs):
    "Make `mountpoint`/MyDrive exist, as a mounted Drive would (under $NEOCHAT_COLAB_ROOT when set)."
    root = Path(os.environ.get("NEOCHAT_COLAB_ROOT", "/")) / str(mountpoint).lstrip("/")
    (root/"MyDrive").mkdir(parents=True, exist_ok=True)
    print(f"Mounted at {mountpoint}")

drive = types.ModuleType("google.colab.drive"); drive.mount = _mount
output = types.ModuleType("google.colab.output")
output.enable_custom_widget_manager = lambda: None
output.disable_custom_widget_manager = lambda: None
sys.modules.update({"google.colab.drive": drive, "google.colab.output": output})
