"""`jupyter knative push-runtime REGISTRY`: push the function runtime image (what ConfigMap shipping mounts
functions into) to a registry, assembled in Python on a base image, so that nobody needs Docker to build it.

Prints the image's reference by digest on stdout (for `runtime_image=`), progress on stderr; exit 1 with the
message and a hint when a registry or pip refuses.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from jupyter_knative.home import PlaneHome

__all__ = ["add_push_runtime"]


def add_push_runtime(commands: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Declare `push-runtime` on the CLI's subparsers."""
    from jupyter_knative.client.oci.reference import DEFAULT_BASE, DEFAULT_PLATFORM

    push = commands.add_parser(
        "push-runtime", parents=parents,
        help="push the function runtime image to REGISTRY (no Docker needed); prints it by digest",
    )
    push.add_argument("registry", metavar="REGISTRY", help="where to push, e.g. ghcr.io/me or localhost:5000")
    push.add_argument("--base", default=DEFAULT_BASE, metavar="IMAGE",
                      help=f"the base image, with Python 3.11 or later (default {DEFAULT_BASE})")
    push.add_argument("--platform", default=DEFAULT_PLATFORM, metavar="P",
                      help=f"the platform taken from a multi-platform base (default {DEFAULT_PLATFORM})")
    push.add_argument("--insecure", action="store_true",
                      help="plain http to the registry (the default for localhost and loopback addresses)")
    push.set_defaults(handler=_push_runtime)


def _push_runtime(home: PlaneHome, args: argparse.Namespace) -> int:
    from jupyter_knative.client.errors import KnativeError
    from jupyter_knative.client.oci import push_runtime_image

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        image = push_runtime_image(args.registry, base_image=args.base, platform=args.platform,
                                   insecure=True if args.insecure else None, progress=progress)
    except KnativeError as e:
        print(f"jupyter-knative: error: {e}", file=sys.stderr)
        if e.hint:
            print(f"hint: {e.hint}", file=sys.stderr)
        return 1
    print(image)
    return 0
