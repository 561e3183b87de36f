"""IPython magics and the Python API (filled by the notebook issue)."""
