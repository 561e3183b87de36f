"""Functions shipped as OCI images assembled in Python and pushed to a registry the user names, as `ko` does:
no Docker on the user's side and no build in the cluster (issue 11, 2b).

    from jupyter_knative.client.oci import oci_shipping, push_runtime_image

    image, service = oci_shipping("hello", "default", source, registry="ghcr.io/me")
    runtime = push_runtime_image("ghcr.io/me")    # the image ConfigMap shipping mounts functions into

The image is a base image (default `python:3.11-slim`, the platform picked from its index) plus a layer with the
project's runtime and its packages and a layer with the function and its requirements, installed for the base's
platform and Python (`layers`). It is pushed under a tag naming the source and returned by digest, with the
Knative Service that runs it. `registry` is the client of the distribution API (`reference` for names, `auth`
for credentials from `docker login`), `image` the manifests and configs as data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jupyter_knative._lazy import lazy_exports

if TYPE_CHECKING:
    from .reference import DEFAULT_BASE, DEFAULT_PLATFORM
    from .ship import RUNTIME_REPOSITORY, PushResult, oci_shipping, push_function_image, push_runtime_image

__all__ = ["DEFAULT_BASE", "DEFAULT_PLATFORM", "RUNTIME_REPOSITORY", "PushResult", "oci_shipping",
           "push_function_image", "push_runtime_image"]

_HOMES = {
    "DEFAULT_BASE": ".reference",
    "DEFAULT_PLATFORM": ".reference",
    "RUNTIME_REPOSITORY": ".ship",
    "PushResult": ".ship",
    "oci_shipping": ".ship",
    "push_function_image": ".ship",
    "push_runtime_image": ".ship",
}

__getattr__, __dir__ = lazy_exports(__name__, _HOMES, globals())
