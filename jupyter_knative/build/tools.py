"""The build system's own helper images, run as a step's process: `python -m jupyter_knative.build.tools
<tool> ARGS...`.

    creds-init  the credential initializer: reports the credentials the service account offers
    git-init    the git source step: `-url URL -revision REV [-path DIR]` clones with git into the workspace
    nop         the build pod's last container: says the build succeeded

git-init fetches only local repositories (a path, or a `file://` URL): the embedded plane makes no network
fetches, so any other URL fails the step with a message that says so.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

LOCAL_ONLY = ("only local repositories (a path or a file:// URL) can be cloned on the embedded plane, which "
              "makes no network fetches")


def _flags(args: list[str]) -> dict[str, str]:
    """Go `flag` style: `-name value`, `-name=value`, `--name value`."""
    out: dict[str, str] = {}
    i = 0
    while i < len(args):
        name, eq, value = args[i].lstrip("-").partition("=")
        if not eq and i + 1 < len(args) and not args[i + 1].startswith("-"):
            i += 1
            value = args[i]
        out[name] = value
        i += 1
    return out


def creds_init(args: list[str]) -> int:
    for arg in args:
        kind, _, rest = arg.lstrip("-").partition("=")
        secret, _, target = rest.partition("=")
        print(f'jupyter-knative: {kind} credentials of secret "{secret}" for {target} are not installed: '
              "builds here fetch local sources and produce local images", flush=True)
    print("Credentials initialized.", flush=True)
    return 0


def _git(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    result = subprocess.run(["git", "-c", "protocol.file.allow=always", *args], cwd=cwd, env=env, text=True,
                            capture_output=True, check=False)
    for line in (result.stdout + result.stderr).splitlines():
        print(line, flush=True)
    return result


def _local(url: str) -> str | None:
    """The local repository `url` names, or None for a remote one."""
    if url.startswith("file://"):
        return url
    if "://" in url or (":" in url.split("/", 1)[0] and not url.startswith((".", "/"))):
        return None  # https://, ssh://, git@host:path
    return url if Path(url).exists() else None


def git_init(args: list[str]) -> int:
    flags = _flags(args)
    url, revision = flags.get("url", ""), flags.get("revision") or "master"
    dest = Path.cwd() / flags["path"] if flags.get("path") else Path.cwd()
    if not url:
        print("git-init: missing -url", flush=True)
        return 1
    source = _local(url)
    if source is None:
        print(f'git-init: cannot fetch "{url}": {LOCAL_ONLY}', flush=True)
        return 1
    dest.mkdir(parents=True, exist_ok=True)
    if _git("init", "-q", cwd=dest).returncode or _git("remote", "add", "origin", source, cwd=dest).returncode:
        return 1
    if _git("fetch", "--recurse-submodules=yes", "origin", revision, cwd=dest).returncode == 0:
        done = _git("reset", "--hard", "FETCH_HEAD", cwd=dest)
    else:
        print(f'git-init: fetching revision "{revision}" directly failed; fetching every ref', flush=True)
        if _git("fetch", "--recurse-submodules=yes", "origin", cwd=dest).returncode:
            return 1
        done = _git("checkout", "-q", revision, cwd=dest)
    if done.returncode:
        print(f'git-init: revision "{revision}" not found in "{url}"', flush=True)
        return 1
    print(f'Successfully cloned "{url}" @ "{revision}" in path "{dest}"', flush=True)
    return 0


def nop(args: list[str]) -> int:
    print("Build successful", flush=True)
    return 0


TOOLS = {"creds-init": creds_init, "git-init": git_init, "nop": nop}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in TOOLS:
        print(f"usage: python -m jupyter_knative.build.tools {{{','.join(TOOLS)}}} ARGS...", file=sys.stderr)
        return 2
    return TOOLS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
