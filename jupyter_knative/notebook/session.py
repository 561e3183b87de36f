"""Which backend one IPython shell talks to.

A `Session` belongs to the shell's `KnativeMagics` (there is no module-level registry): two shells in
one process, or a test's shell beside the user's, never share a connection. Until a backend is chosen
the session connects to the embedded plane, starting it when it is down, as `%load_ext` does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from jupyter_knative.client import Client

__all__ = ["MAGICS_NAME", "Session", "find_session"]

MAGICS_NAME = "KnativeMagics"  # the key of our Magics instance in the shell's magics registry


def _embedded(namespace: str) -> Client:
    from jupyter_knative.client import Client

    return Client.embedded(namespace=namespace, start=True)


def _cluster(kubeconfig: str | None, context: str | None, namespace: str | None, **options: Any) -> Client:
    """A cluster client; `options` are `Client`'s keyword options (ingress, prometheus, shipping)."""
    from jupyter_knative.client import Client

    return Client(kubeconfig=kubeconfig, context=context, namespace=namespace, **options)


class Session:
    """The current backend and its `Client`."""

    def __init__(self, *, embedded: Callable[[str], Client] = _embedded,
                 cluster: Callable[..., Client] = _cluster) -> None:
        self._connect_embedded = embedded
        self._connect_cluster = cluster
        self._client: Client | None = None
        self.chosen = False  # the user picked a backend with `%knative backend`

    @property
    def connected(self) -> bool:
        return self._client is not None

    @property
    def client(self) -> Client:
        """The client; with no backend chosen yet, the embedded plane's (started if down)."""
        if self._client is None:
            self._client = self._connect_embedded("default")
        return self._client

    def start_default(self) -> Client | None:
        """What `%load_ext` does: the embedded plane, unless a backend is already in use."""
        if self._client is not None:
            return None
        return self.client

    def use_embedded(self, namespace: str | None = None) -> Client:
        client = self._connect_embedded(namespace or "default")
        self._replace(client)
        return client

    def use_kubernetes(self, *, kubeconfig: str | None = None, context: str | None = None,
                       namespace: str | None = None, **options: Any) -> Client:
        """A cluster; `options` (ingress, prometheus, shipping) go to `Client` when given."""
        client = self._connect_cluster(kubeconfig, context, namespace,
                                       **{k: v for k, v in options.items() if v is not None})
        self._replace(client)
        return client

    def _replace(self, client: Client) -> None:
        old, self._client, self.chosen = self._client, client, True
        if old is not None and old is not client:
            _close(old)

    def close(self) -> None:
        if self._client is not None:
            _close(self._client)
            self._client = None


def _close(client: Any) -> None:
    close = getattr(client, "close", None)
    if callable(close):
        close()


def find_session(shell: InteractiveShell | None, *, load: bool = True) -> Session:
    """The session of `shell`'s Knative magics, loading the extension first when `load` and it is not."""
    if shell is None:
        raise UsageError("no IPython shell: pass client=jupyter_knative.Client.embedded() instead")
    magics = shell.magics_manager.registry.get(MAGICS_NAME)
    if magics is None and load and shell.extension_manager is not None:
        shell.extension_manager.load_extension("jupyter_knative")
        magics = shell.magics_manager.registry.get(MAGICS_NAME)
    session = getattr(magics, "session", None)
    if not isinstance(session, Session):
        raise UsageError("the Knative magics are not loaded: run %load_ext jupyter_knative")
    return session
