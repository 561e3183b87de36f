"""Built-in equivalents of the container images Knative's own docs deploy, so tutorial YAML runs as is.

`sample_for(image)` names the sample for any spelling of a known image (a registry host or not,
`docker.io/`/`index.docker.io/` prefixes, any tag, any `@sha256:` digest); `create_sample(name)` makes
its ASGI application.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from types import MappingProxyType

from ..asgi import ASGIApp

__all__ = ["SAMPLES", "create_sample", "normalize_image", "sample_for"]

# repository (normalised, no tag or digest) -> sample name
_IMAGES = MappingProxyType({
    "ghcr.io/knative/helloworld-go": "helloworld-go",
    "gcr.io/knative-samples/helloworld-go": "helloworld-go",
    "ghcr.io/knative/autoscale-go": "autoscale-go",
    "gcr.io/knative-samples/autoscale-go": "autoscale-go",
    "gcr.io/knative-releases/knative.dev/eventing/cmd/event_display": "event-display",
    "gcr.io/knative-releases/knative.dev/eventing-contrib/cmd/event_display": "event-display",
    "gcr.io/knative-releases/github.com/knative/eventing-sources/cmd/event_display": "event-display",
    "gcr.io/knative-releases/github.com/knative/eventing-contrib/cmd/event_display": "event-display",
    "ghcr.io/knative/event-display": "event-display",
    "ghcr.io/knative/cloudevents-player": "cloudevents-player",
    "quay.io/ruben/cloudevents-player": "cloudevents-player",
    "ruromero/cloudevents-player": "cloudevents-player",
    "ghcr.io/knative/sockeye": "sockeye",
    "n3wscott/sockeye": "sockeye",
    "gcr.io/knative-releases/knative.dev/eventing/cmd/heartbeats": "heartbeats",
    "gcr.io/knative-releases/knative.dev/eventing-contrib/cmd/heartbeats": "heartbeats",
    "ghcr.io/knative/heartbeats": "heartbeats",
})

SAMPLES = ("helloworld-go", "autoscale-go", "event-display", "cloudevents-player", "sockeye", "heartbeats")

_DOCKER_HUB = re.compile(r"^(?:(?:index|registry-1)\.)?docker\.io/(?:library/)?")


def normalize_image(image: str) -> tuple[str, str | None, str | None]:
    """(repository, tag, digest) with Docker Hub's spellings folded: `docker.io/x/y:1` -> (`x/y`, `1`, None)."""
    ref = image.strip()
    digest = None
    if "@" in ref:
        ref, digest = ref.split("@", 1)
    tag = None
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:  # a tag (a registry port sits before the first slash, never in the last part)
        ref, tag = ref.rsplit(":", 1)
    repository = _DOCKER_HUB.sub("", ref.lower())
    return repository, tag, digest


def sample_for(image: str) -> str | None:
    """The built-in sample serving `image`, or None."""
    return _IMAGES.get(normalize_image(image)[0])


def create_sample(name: str) -> ASGIApp:
    """A fresh application for the sample `name` (one of `SAMPLES`). Raises `KeyError`."""
    return _FACTORIES[name]()


def _helloworld() -> ASGIApp:
    from .helloworld import HelloWorld

    return HelloWorld()


def _autoscale() -> ASGIApp:
    from .autoscale import Autoscale

    return Autoscale()


def _event_display() -> ASGIApp:
    from .event_display import EventDisplay

    return EventDisplay()


def _player() -> ASGIApp:
    from .player import CloudEventsPlayer

    return CloudEventsPlayer()


def _sockeye() -> ASGIApp:
    from .sockeye import Sockeye

    return Sockeye()


def _heartbeats() -> ASGIApp:
    from .heartbeats import Heartbeats

    return Heartbeats()


_FACTORIES: MappingProxyType[str, Callable[[], ASGIApp]] = MappingProxyType({
    "helloworld-go": _helloworld, "autoscale-go": _autoscale, "event-display": _event_display,
    "cloudevents-player": _player, "sockeye": _sockeye, "heartbeats": _heartbeats,
})
