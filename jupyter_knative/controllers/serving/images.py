"""Image references → what the plane can run (Knative's digest resolution, restated for the plane):
functions packaged by jupyter-knative (`dev.local/<ns>/<name>@sha256:...`), any image name a build tagged
with one (resolved to that digest reference, so a revision pins what the tag meant when it was created),
and the built-in equivalents of Knative's sample images."""

from __future__ import annotations

import hashlib
from pathlib import Path

from ...runtime.artifacts import parse_ref, resolve
from ...runtime.samples import normalize_image

UNRUNNABLE = ("failed to resolve image to digest: the embedded plane runs functions packaged by jupyter-knative "
              "(dev.local/<namespace>/<name>@sha256:...), images a Build or TaskRun produced, and the built-in "
              "equivalents of Knative's sample images (helloworld-go, autoscale-go, event-display, "
              "cloudevents-player, sockeye); other images need a Kubernetes cluster with Knative "
              "(see `%knative backend kubernetes`)")


class ImageResolver:
    def __init__(self, artifacts: Path) -> None:
        self.artifacts = artifacts

    def __call__(self, image: str, namespace: str) -> tuple[str | None, str | None]:
        resolved = resolve(image, self.artifacts)
        if resolved is None:
            return None, UNRUNNABLE
        if resolved.kind == "artifact":
            return (image if parse_ref(image) else resolved.reference), None
        repository, _, digest = normalize_image(image)
        if digest is None:
            digest = "sha256:" + hashlib.sha256(f"jupyter-knative/sample/{resolved.name}".encode()).hexdigest()
        registry = image.split("/", 1)[0] if "." in image.split("/", 1)[0] else "docker.io"
        path = repository if repository.startswith(registry) else f"{registry}/{repository}"
        return f"{path}@{digest}", None
