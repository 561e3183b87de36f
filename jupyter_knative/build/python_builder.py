"""The built-in image builder, run as a builder step's process: `python -m jupyter_knative.build.python_builder
JSON`.

It packages the context folder as a Python function artifact (`runtime.artifacts.package_folder`), tags the
artifact with each destination name (`tag_image`), so a Service may name the destination as its image, and
writes the digest where the step asked for it. Its output is the step's log. Running it as a process of its
own keeps a builder step killable at its deadline like any other step.

The JSON object holds host paths: `context`, `store`, `namespace`, `name`, `destinations`, and optionally
`digest_file`, `name_with_digest_file`, `name_tag_with_digest_file`, `image_refs_file`, `report_file`,
`print_ref`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from ..runtime import artifacts


def _digest(ref: str) -> str:
    return ref.rpartition("@")[2]


def _untagged(image: str) -> str:
    name = image.split("@", 1)[0]
    slash, colon = name.rfind("/"), name.rfind(":")
    return name[:colon] if colon > slash else name


def _write(path: str | None, text: str) -> None:
    if path:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


def build(request: dict[str, Any]) -> str:
    context = Path(request["context"])
    if not context.is_dir():
        raise ValueError(f"the build context {context} is not a folder (did a source step fetch it?)")
    print(f"Packaging {context} as a Python function", flush=True)
    ref = artifacts.package_folder(context, name=request["name"], namespace=request["namespace"],
                                   store=Path(request["store"]), log=lambda line: print(line, flush=True),
                                   entrypoint=request.get("entrypoint"))
    print(f"Built {ref}", flush=True)
    digest = _digest(ref)
    destinations: list[str] = list(request.get("destinations") or [])
    for destination in destinations:
        artifacts.tag_image(destination, ref, Path(request["store"]))
        print(f"Tagged {destination} -> {ref}", flush=True)
    first = destinations[0] if destinations else ref
    _write(request.get("digest_file"), digest)
    _write(request.get("name_with_digest_file"), f"{_untagged(first)}@{digest}")
    _write(request.get("name_tag_with_digest_file"), f"{first.split('@', 1)[0]}@{digest}")
    _write(request.get("image_refs_file"), "".join(f"{_untagged(d)}@{digest}\n" for d in destinations))
    tags = ", ".join(json.dumps(d) for d in destinations)
    _write(request.get("report_file"), f'[image]\n  tags = [{tags}]\n  digest = "{digest}"\n')
    if request.get("print_ref"):
        for destination in destinations:
            print(f"{_untagged(destination)}@{digest}", flush=True)
    return ref


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m jupyter_knative.build.python_builder REQUEST_JSON", file=sys.stderr)
        return 2
    try:
        build(json.loads(argv[0]))
    except ValueError as e:  # package_folder's and pip's failures say what went wrong
        print(f"error: {e}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
