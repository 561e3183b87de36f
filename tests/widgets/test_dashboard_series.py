"""The dashboard's pure parts: snapshot → reading, (state, reading) → next state with rates from counter deltas,
state → trace data, and the status and event lines. Hand-made snapshots, explicit times."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_knative.widgets.dashboard import events_html, status_html
from jupyter_knative.widgets.reading import RevisionReading, annotated_target, read
from jupyter_knative.widgets.series import SPLIT_WINDOW, SeriesState, advance, observed_split, traces

from .dashboard_builders import event, ksvc, plane_metrics, pod, revision, route, snapshot

R1, R2 = "hello-00001", "hello-00002"


def steps(*snaps: Any, window: float = 120.0) -> SeriesState:
    state = SeriesState(window=window)
    for snap in snaps:
        state = advance(state, read(snap, "hello"))
    return state


def ys(state: SeriesState, key: str) -> list[float | None]:
    return [p[1] for p in state.series.get(key, ())]


def xs(state: SeriesState, key: str) -> list[float]:
    return [p[0] for p in state.series.get(key, ())]


# --- reading ----------------------------------------------------------------------------------------------------


def test_reading_objects_only() -> None:
    snap = snapshot(10.0, svc=ksvc(latest=R2, traffic={R1: 30, R2: 70}),
                    revisions=[revision(R2, generation=2, desired=3, actual=1), revision(R1, desired=1, actual=1),
                               revision("other-00001", service="other")],
                    route_=route(traffic={R1: 30, R2: 70}, tags={"old": R1}))
    r = read(snap, "hello")
    assert list(r.revisions) == [R1, R2]  # oldest first, other services' revisions left out
    assert r.revisions[R2] == RevisionReading(desired=3.0, actual=1.0, concurrency=None, target=70.0, panic=None)
    assert r.configured == {R1: 30.0, R2: 70.0}  # a tag at 0% adds nothing
    assert (r.found, r.ready, r.latest, r.metrics) == (True, "True", R2, False)


def test_reading_prefers_ready_pods_and_metrics() -> None:
    snap = snapshot(1.0, svc=ksvc(), revisions=[revision(R1, desired=1, actual=1)],
                    pods=[pod("a", R1), pod("b", R1), pod("c", R1, ready=False), pod("d", R1, terminating=True),
                          pod("build", None)],
                    metrics=plane_metrics(requests={(R1, 200): 5, (R1, 503): 2, (R1, 404): 1}, desired={R1: 4},
                                          stable={R1: 6.0}, target={R1: 1.4}, panic={R1: 1}))
    rev = read(snap, "hello").revisions[R1]
    assert (rev.actual, rev.desired, rev.concurrency, rev.target, rev.panic) == (2.0, 4.0, 6.0, 1.4, True)
    assert rev.requests == {"2xx": 5.0, "5xx": 2.0, "4xx": 1.0}


def test_reading_without_pods_watched_uses_revision_status() -> None:
    snap = snapshot(1.0, svc=ksvc(), revisions=[revision(R1, desired=2, actual=0)])
    assert read(snap, "hello").revisions[R1].actual == 0.0


def test_reading_other_namespace_metrics_do_not_count() -> None:
    metrics = plane_metrics(requests={(R1, 200): 9}, namespace="elsewhere")
    snap = snapshot(1.0, svc=ksvc(), revisions=[revision(R1)], metrics=metrics)
    # the feed filters by namespace; the revision label alone still selects the revision's samples
    assert read(snap, "hello").revisions[R1].requests == {"2xx": 9.0}


def test_reading_missing_service() -> None:
    r = read(snapshot(1.0), "hello")
    assert (r.found, r.revisions, r.configured) == (False, {}, {})
    assert "no such service" in status_html(r)


@pytest.mark.parametrize(("annotations", "expected"), [
    pytest.param({}, 70.0, id="knative-defaults"),
    pytest.param({"autoscaling.knative.dev/target": "10"}, 7.0, id="target"),
    pytest.param({"autoscaling.knative.dev/target": "10",
                  "autoscaling.knative.dev/target-utilization-percentage": "50"}, 5.0, id="utilization"),
    pytest.param({"autoscaling.knative.dev/metric": "rps", "autoscaling.knative.dev/target": "10"}, None, id="rps"),
])
def test_annotated_target(annotations: dict[str, str], expected: float | None) -> None:
    assert annotated_target(annotations) == expected


# --- series -----------------------------------------------------------------------------------------------------


def load_snap(at: float, count: float, *, desired: int = 1, pods: int = 1, code: int = 200,
              revisions: tuple[str, ...] = (R1,), counts: dict[str, float] | None = None) -> Any:
    per = counts or dict.fromkeys(revisions, count)
    return snapshot(at, svc=ksvc(latest=revisions[-1]), revisions=[revision(r, generation=i + 1)
                                                                     for i, r in enumerate(revisions)],
                    pods=[pod(f"{r}-p{i}", r) for r in revisions for i in range(pods)],
                    metrics=plane_metrics(requests={(r, code): c for r, c in per.items()},
                                          desired=dict.fromkeys(revisions, desired), stable={r: 4.0 for r in revisions},
                                          target={r: 2.0 for r in revisions}))


def test_rates_are_counter_deltas_over_time() -> None:
    state = steps(load_snap(100.0, 0), load_snap(100.5, 50), load_snap(101.5, 150), load_snap(102.0, 150))
    assert xs(state, f"rps:{R1}") == [0.5, 1.5, 2.0]  # no rate for the first reading: nothing to subtract
    assert ys(state, f"rps:{R1}") == [100.0, 100.0, 0.0]
    assert ys(state, "codes:2xx") == [100.0, 100.0, 0.0]
    assert ys(state, "codes:5xx") == [0.0, 0.0, 0.0]
    assert xs(state, f"actual:{R1}") == [0.0, 0.5, 1.5, 2.0]


def test_a_counter_that_went_down_restarted_from_zero() -> None:
    state = steps(load_snap(0.0, 500), load_snap(1.0, 20))
    assert ys(state, f"rps:{R1}") == [20.0]


def test_codes_by_class() -> None:
    state = steps(load_snap(0.0, 0, code=503), load_snap(2.0, 10, code=503))
    assert ys(state, "codes:5xx")[-1] == 5.0
    assert ys(state, "codes:2xx")[-1] == 0.0


def test_concurrency_per_replica_target_and_panic() -> None:
    calm = load_snap(0.0, 0, pods=2)
    panicking = snapshot(1.0, svc=ksvc(), revisions=[revision(R1)], pods=[pod("p", R1)],
                         metrics=plane_metrics(requests={(R1, 200): 1}, stable={R1: 9.0}, target={R1: 2.0},
                                               panic={R1: 1}))
    state = steps(calm, panicking)
    assert ys(state, f"concurrency:{R1}") == [2.0, 9.0]  # 4 over 2 replicas, then 9 over 1
    assert ys(state, f"target:{R1}") == [2.0, 2.0]
    assert ys(state, f"panic:{R1}") == [9.0]  # a marker where panic mode is on, none before it


def test_replicas_follow_pods_and_desired() -> None:
    state = steps(load_snap(0.0, 0, desired=1, pods=1), load_snap(1.0, 0, desired=3, pods=1),
                  load_snap(2.0, 0, desired=3, pods=3))
    assert ys(state, f"desired:{R1}") == [1.0, 3.0, 3.0]
    assert ys(state, f"actual:{R1}") == [1.0, 1.0, 3.0]


def test_window_trims_old_points() -> None:
    state = steps(*(load_snap(float(t), t * 10) for t in range(10)), window=3.0)
    assert xs(state, f"actual:{R1}") == [6.0, 7.0, 8.0, 9.0]


def test_revisions_appear_and_disappear_with_stable_colours() -> None:
    one = load_snap(0.0, 0, revisions=(R1,))
    two = load_snap(1.0, 0, revisions=(R1, R2))
    only_second = load_snap(2.0, 0, revisions=(R2,))
    state = steps(one)
    first_colour = state.colors[R1]
    state = advance(state, read(two, "hello"))
    assert state.revisions == (R1, R2) and state.colors[R1] == first_colour and state.colors[R2] != first_colour
    colour_two = state.colors[R2]
    state = advance(state, read(only_second, "hello"))
    assert state.revisions == (R2,) and state.colors == {R2: colour_two}
    assert not [k for k in state.series if k.endswith(R1)]
    keys = [t.key for t in traces(state, read(only_second, "hello"))]
    assert all(R1 not in k for k in keys) and f"actual:{R2}" in keys


def test_observed_split_over_the_last_seconds() -> None:
    snaps = [load_snap(0.0, 0, revisions=(R1, R2), counts={R1: 0, R2: 0}),
             load_snap(SPLIT_WINDOW / 2, 0, revisions=(R1, R2), counts={R1: 90, R2: 10}),
             load_snap(SPLIT_WINDOW + 5, 0, revisions=(R1, R2), counts={R1: 90, R2: 110}),
             load_snap(SPLIT_WINDOW + 6, 0, revisions=(R1, R2), counts={R1: 90, R2: 110})]
    state = steps(*snaps[:2])
    assert observed_split(state.history) == {R1: 90.0, R2: 10.0}
    state = steps(*snaps)
    # the window now starts after the first reading: only the 100 requests to R2 since the second count
    assert observed_split(state.history) == {R1: 0.0, R2: 100.0}


def test_observed_split_without_requests_is_empty() -> None:
    assert observed_split(steps(load_snap(0.0, 5), load_snap(1.0, 5)).history) == {}


# --- traces -----------------------------------------------------------------------------------------------------


def test_traces_layout() -> None:
    snaps = [load_snap(0.0, 0, revisions=(R1, R2), counts={R1: 0, R2: 0}),
             load_snap(1.0, 0, revisions=(R1, R2), counts={R1: 30, R2: 10})]
    state = steps(*snaps)
    reading = read(snaps[-1], "hello")
    out = {t.key: t for t in traces(state, reading)}
    assert [k for k in out if k.endswith(R1)] == [f"actual:{R1}", f"desired:{R1}", f"rps:{R1}",
                                                  f"concurrency:{R1}", f"target:{R1}", f"panic:{R1}"]
    assert {out[f"actual:{R1}"].panel, out[f"rps:{R1}"].panel, out["codes:4xx"].panel} == {"replicas", "load", "codes"}
    assert out[f"concurrency:{R1}"].secondary and not out[f"rps:{R1}"].secondary
    assert out[f"rps:{R1}"].y == (30.0,) and out[f"rps:{R2}"].y == (10.0,)
    assert out["split:configured"].x == (R1, R2) and out["split:configured"].y == (0.0, 100.0)
    assert out["split:observed"].y == (75.0, 25.0)
    assert out[f"actual:{R1}"].style["line"]["color"] == out[f"rps:{R1}"].style["line"]["color"]
    assert out[f"actual:{R1}"].style["showlegend"] and not out[f"desired:{R1}"].style["showlegend"]


def test_traces_without_metrics_keep_objects_data() -> None:
    snap = snapshot(0.0, svc=ksvc(), revisions=[revision(R1, desired=2, actual=1)], route_=route(traffic={R1: 100}))
    state = steps(snap)
    out = {t.key: t for t in traces(state, read(snap, "hello"))}
    assert out[f"actual:{R1}"].y == (1.0,) and out[f"desired:{R1}"].y == (2.0,)
    assert out[f"rps:{R1}"].y == () and out["codes:2xx"].y == ()
    assert out["split:configured"].y == (100.0,) and out["split:observed"].y == (None,)
    assert "no request metrics" in status_html(read(snap, "hello"))


# --- status and events ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("svc", "error", "present", "absent"), [
    pytest.param(ksvc(), None, ['data-ready="True"', ">Ready<", "latest hello-00001",
                                "http://hello.default.svc.cluster.local"], ["⚠"],
                 id="ready"),
    pytest.param(ksvc(ready="False"), None, ['data-ready="False"', ">not Ready<"], ['data-ready="True"'],
                 id="not-ready"),
    pytest.param(ksvc(url="http://<x>"), "watching pods: plane is down", ["⚠ watching pods: plane is down",
                                                                           "http://&lt;x&gt;"], ["<x>"], id="error"),
])
def test_status_html(svc: dict[str, Any], error: str | None, present: list[str], absent: list[str]) -> None:
    text = status_html(read(snapshot(0.0, svc=svc, error=error), "hello"))
    assert all(p in text for p in present), text
    assert not any(a in text for a in absent), text


def test_events_of_the_service_newest_first() -> None:
    events = [event("e1", "hello-00001", when="2026-01-01T00:00:01Z", rv=1),
              event("e2", "other", when="2026-01-01T00:00:02Z", rv=2),
              event("e3", "hello", kind="Service", reason="Failed", type_="Warning", message="boom <b>",
                    when="2026-01-01T00:00:03Z", rv=3, count=4),
              event("e4", "hello-00001-deployment-x", kind="Pod", when="2026-01-01T00:00:00Z", rv=4)]
    r = read(snapshot(0.0, svc=ksvc(), events=events), "hello")
    assert [e.object for e in r.events] == ["Service/hello", "Revision/hello-00001", "Pod/hello-00001-deployment-x"]
    text = events_html(r.events)
    assert "boom &lt;b&gt; (4 times)" in text and "other" not in text
    assert "No recent events" in events_html(())
