"""The `jupyter-knative` command (`jupyter knative ...` through Jupyter's subcommand dispatch).

It reaches the daemon only through the files under the plane's home, signals and HTTPS, never by
importing it, and it imports little so that it starts fast.
"""

from jupyter_knative.cli.commands import main

__all__ = ["main"]
