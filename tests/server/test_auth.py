"""Every handler refuses a request without Jupyter's token (and with a wrong one); everything works under a
JupyterHub-style base URL."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import Served

# (method, path parts, body): one per handler; the proxy's GET is a browser's: sent to the login page
HANDLERS = [
    ("GET", ("knative", "api", "status"), None),
    ("POST", ("knative", "api", "plane"), json.dumps({"action": "stop"})),
    ("GET", ("knative", "api", "namespaces"), None),
    ("GET", ("knative", "api", "objects"), None),
    ("GET", ("knative", "api", "stream"), None),
    ("DELETE", ("knative", "api", "objects", "brokers", "default", "x"), None),
    ("GET", ("knative", "api", "logs", "default", "x"), None),
    ("POST", ("knative", "proxy", "default", "x", "p"), "body"),
    ("PUT", ("knative", "proxy", "default", "x", "p"), "body"),
    ("DELETE", ("knative", "proxy", "default", "x", "p"), None),
]


@pytest.mark.parametrize("auth", ["", "token wrong", "Bearer wrong"], ids=["none", "wrong-token", "bearer"])
@pytest.mark.parametrize(("method", "parts", "body"), HANDLERS, ids=[f"{m} {'/'.join(p)}" for m, p, _ in HANDLERS])
def test_refused_without_a_token(fetch: Any, method: str, parts: tuple[str, ...], body: str | None,
                                 auth: str) -> None:
    resp = fetch(*parts, method=method, body=body, headers={"Authorization": auth},
                 allow_nonstandard_methods=True, follow_redirects=False)
    assert resp.code == 403, (resp.code, resp.body)


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_proxy_sends_a_browser_to_login(fetch: Any, method: str, jp_base_url: str) -> None:
    resp = fetch("knative", "proxy", "default", "x", "page", method=method, headers={"Authorization": ""},
                 follow_redirects=False)
    assert resp.code == 302
    assert resp.headers["Location"].startswith(f"{jp_base_url}login?next=")
    assert "knative%2Fproxy%2Fdefault%2Fx%2Fpage" in resp.headers["Location"]


def test_no_stream_without_a_token(open_stream: Any, served: Served) -> None:
    sse = open_stream(served.namespace, headers={"Authorization": ""})
    assert sse.status == 403


class TestUnderHubBaseURL:
    """JupyterHub serves a user's server under /user/<name>/."""

    @pytest.fixture
    def jp_base_url(self) -> str:
        return "/user/alice/"

    def test_api(self, fetch: Any, served: Served, jp_serverapp: Any) -> None:
        assert jp_serverapp.base_url == "/user/alice/"
        status = fetch("knative", "api", "status")
        assert status.code == 200 and json.loads(status.body)["running"] is True
        assert status.effective_url.split("?")[0].endswith("/user/alice/knative/api/status")
        snap = json.loads(fetch("knative", "api", "objects", params={"namespace": served.namespace}).body)
        assert [s["name"] for s in snap["services"]] == ["echo"]
        assert fetch("knative", "api", "status", headers={"Authorization": ""}).code == 403

    def test_proxy(self, fetch: Any, served: Served) -> None:
        resp = fetch("knative", "proxy", served.namespace, "echo", "deep/path", params={"x": "1"})
        assert resp.code == 200
        echoed = json.loads(resp.body)
        assert (echoed["path"], echoed["query"]) == ("/deep/path", "x=1")
        assert echoed["headers"]["x-forwarded-prefix"] == f"/user/alice/knative/proxy/{served.namespace}/echo"
        redirect = fetch("knative", "proxy", served.namespace, "echo", follow_redirects=False)
        assert redirect.headers["Location"] == f"/user/alice/knative/proxy/{served.namespace}/echo/"

    def test_stream(self, open_stream: Any, run: Any, served: Served) -> None:
        sse = open_stream(served.namespace)
        assert sse.status == 200
        snap = run(sse.next_of("snapshot"))
        assert [s["name"] for s in snap["services"]] == ["echo"]

    def test_other_paths_are_not_ours(self, fetch: Any) -> None:
        assert fetch("knative", "api", "nothing").code == 404
        assert fetch("..", "bob", "knative", "api", "status").code == 404
