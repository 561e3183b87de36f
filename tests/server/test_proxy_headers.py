"""The proxy's header rules and redirect rewriting, as pure functions."""

from __future__ import annotations

import pytest

from jupyter_knative.server.proxy import request_headers, response_headers, rewrite_location

HOST = "echo.ns.svc.cluster.local"


def test_request_headers_drop_hop_by_hop_and_jupyter_credentials() -> None:
    sent = [("Host", "jupyter.example.com"), ("Authorization", "token abc"), ("X-XSRFToken", "x"),
            ("Connection", "keep-alive, X-Private"), ("X-Private", "hop"), ("Keep-Alive", "timeout=5"),
            ("Transfer-Encoding", "chunked"), ("Upgrade", "h2c"), ("TE", "trailers"), ("Content-Length", "3"),
            ("Proxy-Authorization", "Basic x"), ("Accept", "application/json"), ("X-Custom", "1"),
            ("Cookie", "_xsrf=2|abc; login-cookie=secret; app=1; jupyterhub-session-id=s; theme=dark")]
    assert request_headers(sent, HOST, {"login-cookie", "_xsrf"}) == [
        ("Host", HOST), ("Accept", "application/json"), ("X-Custom", "1"), ("Cookie", "app=1; theme=dark")]


def test_only_jupyter_cookies_means_no_cookie_header() -> None:
    assert request_headers([("Cookie", "login=x; _xsrf=y")], HOST, {"login", "_xsrf"}) == [("Host", HOST)]


def test_response_headers_keep_repeats_and_drop_hop_by_hop() -> None:
    got = [("Content-Type", "text/html"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"),
           ("Transfer-Encoding", "chunked"), ("Connection", "close, X-Hop"), ("X-Hop", "1"), ("Content-Length", "5")]
    assert response_headers(got) == [("Content-Type", "text/html"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"),
                                     ("Content-Length", "5")]


@pytest.mark.parametrize(("location", "expected"), [
    ("/login", "/user/a/knative/proxy/ns/echo/login"),
    ("/", "/user/a/knative/proxy/ns/echo/"),
    ("/p?q=1#f", "/user/a/knative/proxy/ns/echo/p?q=1#f"),
    (f"http://{HOST}/next", "/user/a/knative/proxy/ns/echo/next"),
    (f"http://{HOST}", "/user/a/knative/proxy/ns/echo/"),
    ("https://example.com/elsewhere", "https://example.com/elsewhere"),
    ("relative/page", "relative/page"),
])
def test_rewrite_location(location: str, expected: str) -> None:
    assert rewrite_location(location, "/user/a/knative/proxy/ns/echo", HOST) == expected
