"""Image references → what the plane can run (Knative's digest resolution, restated for the plane):
functions packaged by jupyter-knative (`dev.local/<ns>/<name>@sha256:...`), any image name a build tagged
with one (resolved to that digest reference, so a revision pins what the tag meant when it was created),
the built-in equivalents of Knative's sample images, and the function runtime image
(`ghcr.io/jupyter-knative/function-runtime`, any tag or digest), which serves the function its container's
environment and ConfigMap mount name, as `jupyter_knative.client.shipping` ships it to a cluster.

Samples and the runtime have no real digest here: a tag resolves to a stable one derived from the name (and,
for the runtime, the tag), and a reference that carries a digest keeps it."""

from __future__ import annotations

import hashlib
from pathlib import Path

from ...runtime.artifacts import parse_ref, resolve
from ...runtime.samples import normalize_image

UNRUNNABLE = ("failed to resolve image to digest: the embedded plane runs functions packaged by jupyter-knative "
              "(dev.local/<namespace>/<name>@sha256:...), images a Build or TaskRun produced, the built-in "
              "equivalents of Knative's sample images (helloworld-go, autoscale-go, event-display, "
              "cloudevents-player, sockeye), and the function runtime image "
              "(ghcr.io/jupyter-knative/function-runtime, any tag, with the function mounted from a ConfigMap); "
              "other images need a Kubernetes cluster with Knative (see `%knative backend kubernetes`)")


class ImageResolver:
    def __init__(self, artifacts: Path) -> None:
        self.artifacts = artifacts

    def __call__(self, image: str, namespace: str) -> tuple[str | None, str | None]:
        resolved = resolve(image, self.artifacts)
        if resolved is None:
            return None, UNRUNNABLE
        if resolved.kind == "artifact":
            return (image if parse_ref(image) else resolved.reference), None
        repository, tag, digest = normalize_image(image)
        if digest is None:
            seed = f"jupyter-knative/sample/{resolved.name}" if resolved.kind == "sample" else \
                f"jupyter-knative/{resolved.kind}/{resolved.name}:{tag or 'latest'}"
            digest = "sha256:" + hashlib.sha256(seed.encode()).hexdigest()
        registry = image.split("/", 1)[0] if "." in image.split("/", 1)[0] else "docker.io"
        path = repository if repository.startswith(registry) else f"{registry}/{repository}"
        return f"{path}@{digest}", None
