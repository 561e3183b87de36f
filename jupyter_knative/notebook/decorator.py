"""`@knative.function(...)`: deploy a function defined in a cell, and keep it callable here.

    import jupyter_knative as knative

    @knative.function(name="hello", scale_min=1, env={"TARGET": "you"})
    def hello(request):
        return "Hello"

    hello.deployment.url        # the Deployment the client returned
    hello.invoke(path="/")      # a Response from the deployed service
    hello(request)              # still the local function

What the function uses from the notebook goes with it (see `source.function_source`): imports,
constants and helper functions defined in cells.

In IPython the decorator uses the notebook's backend (loading the extension when needed) and turns
mistakes into `UsageError`s like the magics do; elsewhere it uses the embedded plane, or `client=`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar, overload

from .commands import attach_deployment, deploy_with_progress
from .source import function_source, service_name

if TYPE_CHECKING:
    from jupyter_knative.client import Client

__all__ = ["KN_FLAGS", "function"]

F = TypeVar("F", bound=Callable[..., Any])

KN_FLAGS = ("env", "scale_min", "scale_max", "scale_init", "scale_target", "scale_metric", "scale_window",
            "concurrency_limit", "timeout", "revision_name", "annotations", "labels", "requirements",
            "cluster_local", "wait")
"""The keyword arguments `function` passes on to `Client.deploy_function` (kn's flags, snake_cased)."""


@overload
def function(fn: F, /) -> F: ...


@overload
def function(*, name: str | None = None, namespace: str | None = None, client: Client | None = None,
             **kn_flags: Any) -> Callable[[F], F]: ...


def function(fn: Any = None, /, *, name: str | None = None, namespace: str | None = None,
             client: Client | None = None, **kn_flags: Any) -> Any:
    """Deploy the decorated function as a Knative Service named `name` (default: the function's name,
    `_` → `-`); `kn_flags` are those of `%%knative service` in Python spelling (`scale_min=1`)."""
    unknown = sorted(set(kn_flags) - set(KN_FLAGS))
    if unknown:
        raise TypeError(f"function() got unexpected keyword argument(s) {', '.join(unknown)}; "
                        f"expected name, namespace, client or one of {', '.join(KN_FLAGS)}")

    def deploy(f: F) -> F:
        shell = _shell()
        with _errors(shell):
            backend = client if client is not None else _client(shell)
            source = function_source(f)
            if source.missing:
                print(f"note: {f.__name__} uses {', '.join(source.missing)} from the notebook, which cannot be "
                      "deployed with it; define or import them inside the function")
            deployment = deploy_with_progress(backend, name or service_name(f), source.text, handler=f.__name__,
                                              namespace=namespace, **kn_flags)
        attach_deployment(f, deployment, backend, namespace)
        if shell is not None:
            from IPython.display import display

            display(deployment)  # type: ignore[no-untyped-call]
        return f

    return deploy(fn) if fn is not None else deploy


def _shell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:  # IPython is not there: a plain script
        return None
    return get_ipython()


def _client(shell: Any) -> Client:
    if shell is None:
        from jupyter_knative.client import Client

        return Client.embedded(start=True)
    from .session import find_session

    return find_session(shell).client


@contextlib.contextmanager
def _errors(shell: Any) -> Iterator[None]:
    if shell is None:
        yield
        return
    from .magics import translate_errors

    with translate_errors():
        yield
