"""User code in every supported signature, driven in process through the ASGI interface."""

from __future__ import annotations

import itertools
import json
import textwrap
from typing import Any

import pytest

from jupyter_knative.runtime.adapters import EntrypointError, load_app
from jupyter_knative.runtime.loader import load_source

from .asgi_client import call

_names = itertools.count()

CE_HEADERS = {"ce-specversion": "1.0", "ce-id": "e-1", "ce-source": "/test", "ce-type": "dev.example.ping",
              "content-type": "application/json"}


def app_for(source: str, entrypoint: str | None = None) -> Any:
    module = load_source(textwrap.dedent(source), name=f"fn_{next(_names)}")
    return load_app(module, entrypoint)


# signatures


@pytest.mark.parametrize(("source", "kind", "target"), [
    pytest.param("def handler(request):\n    return 'x'\n", "http", "handler", id="plain-http"),
    pytest.param("async def handler(request):\n    return 'x'\n", "http", "handler", id="async-http"),
    pytest.param("def f(cloud_event):\n    pass\n", "cloudevent", "f", id="ce-by-name"),
    pytest.param("def f(event):\n    pass\n", "cloudevent", "f", id="ce-by-event-name"),
    pytest.param("from cloudevents.http import CloudEvent\ndef f(e: CloudEvent):\n    pass\n", "cloudevent", "f",
                 id="ce-by-annotation"),
    pytest.param("from __future__ import annotations\ndef f(e: 'CloudEvent'):\n    pass\n", "cloudevent", "f",
                 id="ce-by-string-annotation"),
    pytest.param("def helper():\n    return 1\ndef first(request):\n    return 'a'\ndef second(request):\n"
                 "    return 'b'\n", "http", "second", id="last-one-argument-function"),
    pytest.param("def new():\n    return F()\nclass F:\n    async def handle(self, scope, receive, send):\n"
                 "        pass\n", "kn-func", "new", id="kn-func-new"),
    pytest.param("async def handle(scope, receive, send):\n    pass\n", "kn-func", "handle", id="kn-func-handle"),
    pytest.param("async def app(scope, receive, send):\n    pass\n", "asgi", "app", id="asgi-function"),
    pytest.param("class App:\n    async def __call__(self, scope, receive, send):\n        pass\napp = App()\n"
                 "def helper(x):\n    return x\n", "asgi", "app", id="asgi-object-wins-over-function"),
    pytest.param("import flask\napp = flask.Flask('t')\n", "wsgi", "app", id="flask-app"),
    pytest.param("def application(environ, start_response):\n    return []\n", "wsgi", "application",
                 id="wsgi-callable"),
    pytest.param("import functions_framework\n@functions_framework.http\ndef hello(request):\n    return 'x'\n"
                 "def later(request):\n    return 'y'\n", "functions-framework", "hello", id="ff-http-decorator"),
    pytest.param("import functions_framework\n@functions_framework.cloud_event\ndef hello(cloud_event):\n    pass\n",
                 "functions-framework", "hello", id="ff-cloud-event-decorator"),
    pytest.param("import functions_framework\ndef hello(request):\n    return 'x'\n", "functions-framework",
                 "hello", id="ff-imported-undecorated"),
])
def test_signature_is_recognised(source: str, kind: str, target: str) -> None:
    loaded = app_for(source)
    assert (loaded.kind, loaded.target) == (kind, target)


def test_entrypoint_selects_and_must_exist() -> None:
    source = "def a(request):\n    return 'A'\ndef b(request):\n    return 'B'\n"
    assert app_for(source, "a").target == "a"
    with pytest.raises(EntrypointError, match=r"entrypoint = 'c'.*a, b"):
        app_for(source, "c")


def test_nothing_servable_is_a_clear_error() -> None:
    with pytest.raises(EntrypointError, match="defines no function taking one argument"):
        app_for("X = 1\ndef two(a, b):\n    pass\n")


# return values of HTTP functions


@pytest.mark.parametrize(("body", "status", "content_type", "expected"), [
    pytest.param("'hello'", 200, "text/html; charset=utf-8", b"hello", id="str"),
    pytest.param("b'raw'", 200, "text/html; charset=utf-8", b"raw", id="bytes"),
    pytest.param("{'b': 1, 'a': [1, 2]}", 200, "application/json", b'{"a":[1,2],"b":1}\n', id="dict"),
    pytest.param("[1, 'x']", 200, "application/json", b'[1,"x"]\n', id="list"),
    pytest.param("('made', 201)", 201, "text/html; charset=utf-8", b"made", id="body-status"),
    pytest.param("('made', '202 ACCEPTED')", 202, "text/html; charset=utf-8", b"made", id="body-status-string"),
    pytest.param("({'ok': True}, 400, {'X-Why': 'because'})", 400, "application/json", b'{"ok":true}\n',
                 id="body-status-headers"),
    pytest.param("('teapot', {'X-Why': 'because'})", 200, "text/html; charset=utf-8", b"teapot", id="body-headers"),
    pytest.param("(404, 'not here')", 404, "text/html; charset=utf-8", b"not here", id="status-body"),
    pytest.param("None", 200, None, b"", id="none"),
    pytest.param("Response('made', status=201, content_type='text/plain')", 201, "text/plain", b"made",
                 id="our-response"),
    pytest.param("flask.Response('flask', status=203, mimetype='text/csv')", 203, "text/csv; charset=utf-8",
                 b"flask", id="flask-response"),
    pytest.param("types.SimpleNamespace(status_code=418, body='short and stout')", 418, "text/html; charset=utf-8",
                 b"short and stout", id="status-code-body-object"),
    pytest.param("(c for c in ['a', 'b', 'c'])", 200, "text/html; charset=utf-8", b"abc", id="generator"),
])
async def test_http_return_forms(body: str, status: int, content_type: str | None, expected: bytes) -> None:
    loaded = app_for(f"import flask, types\nfrom jupyter_knative.runtime import Response\n"
                     f"def handler(request):\n    return {body}\n")
    reply = await call(loaded.app)
    assert (reply.status, reply.header("content-type"), reply.body) == (status, content_type, expected)
    if "X-Why" in body:
        assert reply.header("x-why") == "because"


async def test_async_generator_streams() -> None:
    loaded = app_for("async def handler(request):\n    async def gen():\n        yield 'a'\n        yield b'b'\n"
                     "    return gen()\n")
    reply = await call(loaded.app)
    assert reply.body == b"ab" and len(reply.chunks) == 3


async def test_unsupported_return_value_raises() -> None:
    loaded = app_for("def handler(request):\n    return 42\n")
    with pytest.raises(TypeError, match="returned int"):
        await call(loaded.app)


async def test_exception_propagates_to_the_server() -> None:
    loaded = app_for("def handler(request):\n    raise ValueError('bad input')\n")
    with pytest.raises(ValueError, match="bad input"):
        await call(loaded.app)


async def test_http_error_sets_the_status() -> None:
    loaded = app_for("from jupyter_knative.runtime import HTTPError\ndef handler(request):\n"
                     "    raise HTTPError(403, 'Forbidden: no')\n")
    reply = await call(loaded.app)
    assert (reply.status, reply.body) == (403, b"Forbidden: no\n")


# the request object


async def test_request_attributes() -> None:
    loaded = app_for("""
        def handler(request):
            return {
                'method': request.method, 'path': request.path, 'full_path': request.full_path, 'url': request.url,
                'args': request.args.getlist('x'), 'first': request.args.get('x'), 'n': request.args.get('n', type=int),
                'header': request.headers.get('X-CUSTOM'), 'has': 'x-custom' in request.headers,
                'json': request.get_json(), 'json2': request.json, 'data': request.get_data(as_text=True),
                'ct': request.content_type, 'mt': request.mimetype, 'cookies': request.cookies,
                'remote': request.remote_addr, 'values': request.values.to_dict(), 'host': request.host,
            }
    """)
    reply = await call(loaded.app, "POST", "/p/q", body='{"k": "v"}', query="x=1&x=2&n=7",
                       headers={"Content-Type": "application/json; charset=utf-8", "X-Custom": "yes",
                                "Cookie": "a=1; b=two"})
    got = reply.json()
    assert got == {
        "method": "POST", "path": "/p/q", "full_path": "/p/q?x=1&x=2&n=7",
        "url": "http://example.com/p/q?x=1&x=2&n=7",
        "args": ["1", "2"], "first": "1", "n": 7, "header": "yes", "has": True, "json": {"k": "v"},
        "json2": {"k": "v"}, "data": '{"k": "v"}', "ct": "application/json; charset=utf-8",
        "mt": "application/json", "cookies": {"a": "1", "b": "two"}, "remote": "127.0.0.1",
        "values": {"x": "1", "n": "7"}, "host": "example.com",
    }


async def test_request_form_and_files() -> None:
    loaded = app_for("def handler(request):\n    f = request.files['doc']\n"
                     "    return {'form': request.form.to_dict(), 'file': [f.filename, f.read().decode()],"
                     " 'data': request.data.decode()}\n")
    body = ("--B\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nHi\r\n"
            "--B\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"a.txt\"\r\n"
            "Content-Type: text/plain\r\n\r\n"
            "file body\r\n--B--\r\n")
    reply = await call(loaded.app, "POST", body=body, headers={"Content-Type": "multipart/form-data; boundary=B"})
    assert reply.json() == {"form": {"title": "Hi"}, "file": ["a.txt", "file body"], "data": ""}
    urlencoded = app_for("def handler(request):\n    return request.form.to_dict(flat=False)\n")
    reply = await call(urlencoded.app, "POST", body="a=1&a=2&b=x+y",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert reply.json() == {"a": ["1", "2"], "b": ["x y"]}


@pytest.mark.parametrize(("content_type", "body", "status"), [
    pytest.param("text/plain", "{}", 415, id="not-json-type"),
    pytest.param("application/json", "{nope", 400, id="invalid-json"),
])
async def test_get_json_errors_are_client_errors(content_type: str, body: str, status: int) -> None:
    loaded = app_for("def handler(request):\n    return request.get_json()\n")
    reply = await call(loaded.app, "POST", body=body, headers={"Content-Type": content_type})
    assert reply.status == status
    silent = app_for("def handler(request):\n    return {'got': request.get_json(silent=True)}\n")
    assert (await call(silent.app, "POST", body=body, headers={"Content-Type": content_type})).json() == {"got": None}


async def test_flask_abort_in_a_plain_function() -> None:
    loaded = app_for("import flask\ndef handler(request):\n    flask.abort(404)\n")
    reply = await call(loaded.app)
    assert reply.status == 404 and reply.text.startswith("404 Not Found")


async def test_missing_arg_is_400() -> None:
    loaded = app_for("def handler(request):\n    return request.args['needed']\n")
    assert (await call(loaded.app)).status == 400


async def test_sync_function_that_blocks_moves_to_threads() -> None:
    loaded = app_for("import time, threading\ndef handler(request):\n    time.sleep(0.01)\n"
                     "    return threading.current_thread().name\n")
    first = await call(loaded.app)
    second = await call(loaded.app)
    assert first.text == "MainThread"  # quick calls run on the loop ...
    assert second.text.startswith("function")  # ... until one is seen waiting


# CloudEvent functions


async def test_cloudevent_binary_and_structured() -> None:
    loaded = app_for("seen = []\ndef f(cloud_event):\n    seen.append((cloud_event['type'], cloud_event.data))\n")
    reply = await call(loaded.app, "POST", body='{"n": 1}', headers=CE_HEADERS)
    # no reply event: 204 with no body (functions-framework answers 200 "OK", which a broker refuses as a reply)
    assert (reply.status, reply.body, reply.header("content-type")) == (204, b"", None)
    structured = {"specversion": "1.0", "id": "2", "source": "/s", "type": "t.structured", "data": {"n": 2}}
    reply = await call(loaded.app, "POST", body=json.dumps(structured),
                       headers={"Content-Type": "application/cloudevents+json"})
    assert reply.status == 204
    module = __import__(loaded.app.function.__module__)
    assert module.seen == [("dev.example.ping", {"n": 1}), ("t.structured", {"n": 2})]


async def test_cloudevent_reply_is_binary() -> None:
    loaded = app_for("""
        from cloudevents.http import CloudEvent
        def f(cloud_event):
            return CloudEvent({'type': 'dev.example.pong', 'source': '/reply'}, {'echo': cloud_event.data})
    """)
    reply = await call(loaded.app, "POST", body='{"n": 1}', headers=CE_HEADERS)
    assert reply.status == 200
    assert reply.header("ce-type") == "dev.example.pong" and reply.header("ce-source") == "/reply"
    assert reply.header("content-type") == "application/json" and json.loads(reply.body) == {"echo": {"n": 1}}


@pytest.mark.parametrize(("method", "headers", "status", "text"), [
    pytest.param("POST", {"content-type": "application/json"}, 400, "not a valid CloudEvent", id="not-an-event"),
    pytest.param("POST", {"ce-specversion": "1.0", "ce-source": "/s"}, 400, "not a valid CloudEvent",
                 id="missing-attributes"),
    pytest.param("GET", CE_HEADERS, 405, "POST only", id="get"),
])
async def test_cloudevent_function_rejects(method: str, headers: dict[str, str], status: int, text: str) -> None:
    loaded = app_for("def f(cloud_event):\n    raise AssertionError('not called')\n")
    reply = await call(loaded.app, method, body="{}", headers=headers)
    assert reply.status == status and text in reply.text


# kn func


KN_FUNC = """
    import json
    calls = []
    def new():
        return Function()
    class Function:
        def start(self, cfg):
            calls.append(('start', 'PATH' in cfg))
        def stop(self):
            calls.append(('stop',))
        def ready(self):
            return False, 'warming up'
        async def handle(self, scope, receive, send):
            if scope['path'] == '/raise':
                raise KeyError('oops')
            event = scope.get('event')
            if event is not None:
                await send(event)  # a CloudEvent: encoded by the sender
                return
            await send({'type': 'http.response.start', 'status': 200, 'headers': [[b'content-type', b'text/plain']]})
            await send({'type': 'http.response.body', 'body': b'OK'})
"""


async def test_kn_func_lifespan_and_health() -> None:
    loaded = app_for(KN_FUNC)
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent: list[str] = []

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message["type"])

    await loaded.app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    module = __import__(type(loaded.app.instance).__module__)
    assert module.calls == [("start", True), ("stop",)]
    assert (await call(loaded.app, path="/health/liveness")).body == b"OK"
    readiness = await call(loaded.app, path="/health/readiness")
    assert (readiness.status, readiness.body) == (500, b"warming up")


async def test_kn_func_http_cloudevent_and_errors() -> None:
    loaded = app_for(KN_FUNC)
    assert (await call(loaded.app)).body == b"OK"
    echoed = await call(loaded.app, "POST", body='{"n": 1}', headers=CE_HEADERS)
    assert echoed.header("content-type") == "application/cloudevents+json"
    assert json.loads(echoed.body)["type"] == "dev.example.ping"
    failed = await call(loaded.app, path="/raise")
    assert (failed.status, failed.body) == (500, b"Error: 'oops'")


# functions-framework: its own semantics


async def test_functions_framework_http_semantics() -> None:
    loaded = app_for("import functions_framework, flask\n@functions_framework.http\ndef hello(request):\n"
                     "    if request.path == '/none':\n        return None\n"
                     "    return flask.jsonify(path=request.path, name=request.args.get('name'))\n")
    reply = await call(loaded.app, path="/x", query="name=Ada")
    assert reply.status == 200 and reply.json() == {"name": "Ada", "path": "/x"}
    none = await call(loaded.app, path="/none")
    assert none.status == 500 and none.header("x-google-status") == "crash"  # as functions-framework answers
    assert (await call(loaded.app, path="/favicon.ico")).status == 404


async def test_functions_framework_cloud_event_semantics() -> None:
    loaded = app_for("import functions_framework\n@functions_framework.cloud_event\ndef hello(cloud_event):\n"
                     "    assert cloud_event['type'] == 'dev.example.ping'\n")
    reply = await call(loaded.app, "POST", body='{"n": 1}', headers=CE_HEADERS)
    assert (reply.status, reply.body) == (200, b"OK")  # the framework's own app, as it answers
    assert (await call(loaded.app, "GET", headers=CE_HEADERS)).status == 405


async def test_flask_app_served_through_wsgi() -> None:
    loaded = app_for("import flask\napp = flask.Flask('t')\n@app.route('/hi/<name>', methods=['POST'])\n"
                     "def hi(name):\n    return {'hi': name, 'body': flask.request.get_data(as_text=True)}\n")
    reply = await call(loaded.app, "POST", "/hi/bob", body="payload")
    assert reply.status == 200 and reply.json() == {"body": "payload", "hi": "bob"}
    assert (await call(loaded.app, "GET", "/nope")).status == 404
