"""`%knative` and `%%knative`: one line+cell magic that parses, dispatches to a command, and turns the
mistakes a user can make into `UsageError`s (a message and a hint, no traceback)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class

from . import display as out
from .commands import HANDLERS, Context
from .parsing import HelpRequested, overview, parse
from .session import MAGICS_NAME, Session

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

__all__ = ["KnativeMagics", "load_ipython_extension", "translate_errors", "unload_ipython_extension"]


@contextlib.contextmanager
def translate_errors() -> Iterator[None]:
    """KnativeError (with the server's reason and a hint), bad YAML, bad source, a missing file →
    `UsageError`, which IPython shows as one message instead of a traceback."""
    from jupyter_knative.client import KnativeError

    try:
        yield
    except KnativeError as e:
        hint = getattr(e, "hint", "")
        raise UsageError(f"{e}\nhint: {hint}" if hint else str(e)) from None
    except (ValueError, OSError) as e:  # YAML and source mistakes (ValueError), a file that is not there
        raise UsageError(str(e)) from None


@magics_class
class KnativeMagics(Magics):
    def __init__(self, shell: InteractiveShell | None = None, session: Session | None = None) -> None:
        super().__init__(shell)
        self.session = session if session is not None else Session()

    @line_cell_magic
    def knative(self, line: str, cell: str | None = None) -> Any:
        try:
            invocation = parse(line, cell=cell is not None)
        except HelpRequested as h:
            print(h.text)
            return None
        context = Context(self.session, self.shell, cell)
        with translate_errors():
            return HANDLERS[invocation.command](context, invocation.args)


KnativeMagics.knative.__doc__ = overview()


def load_ipython_extension(shell: InteractiveShell) -> None:
    """Register the magics; connect to the embedded plane (starting it) unless a backend is in use."""
    magics = KnativeMagics(shell)
    shell.register_magics(magics)
    if shell.display_formatter is not None:
        plain = shell.display_formatter.formatters["text/plain"]
        for cls, printer in out.text_formatters():
            plain.for_type(cls, printer)
    try:
        with translate_errors():
            progress = out.Progress("starting the embedded Knative plane")
            out.run_with_progress(lambda report: magics.session.start_default(), progress)
            progress.finish("running")
    except UsageError as e:  # the magics stay usable: `%knative up` or `%knative backend` can follow
        print(f"jupyter-knative: the embedded plane is not available: {e}", file=sys.stderr)


def unload_ipython_extension(shell: InteractiveShell) -> None:
    magics = shell.magics_manager.registry.pop(MAGICS_NAME, None)
    for kind in ("line", "cell"):
        shell.magics_manager.magics[kind].pop("knative", None)
    if shell.display_formatter is not None:
        plain = shell.display_formatter.formatters["text/plain"]
        for cls, _ in out.text_formatters():
            plain.pop(cls, None)
    if isinstance(magics, KnativeMagics):
        magics.session.close()
