# With this folder on PYTHONPATH, every Python process starts as if in Google Colab: `google.colab` is imported.
import google.colab  # noqa: F401
