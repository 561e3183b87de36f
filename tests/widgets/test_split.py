"""The traffic split's arithmetic, the edit → kn flags → spec.traffic path, the preview and the moves (pure)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from jupyter_knative.client.trafficrules import TrafficError
from jupyter_knative.widgets.split import (
    LATEST,
    Change,
    Entry,
    MoveError,
    ServiceState,
    Split,
    blue_green,
    canary,
    current_split,
    diff,
    flags,
    promote_latest,
    rebalance,
    roll_back,
    spec_traffic,
)

from ..client.helpers import latest, rev

# --- builders ---------------------------------------------------------------------------------------------


def served(name: str, percent: int, tag: str = "", via_latest: bool = False) -> dict[str, Any]:
    """A status traffic target (status always names the revision)."""
    target: dict[str, Any] = {"tag": tag} if tag else {}
    return {**target, "revisionName": name, "latestRevision": via_latest, "percent": percent}


def revision(name: str, generation: int, ready: bool = True) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {"serving.knative.dev/configurationGeneration": str(generation)}},
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def state(spec: list[dict[str, Any]], status: list[dict[str, Any]] | None = None, *, ready: int = 2,
          unready: tuple[str, ...] = (), name: str = "s") -> ServiceState:
    """A Service `s` with revisions s-1 .. s-`ready` (all ready unless in `unready`), the last the latest ready."""
    revs = [f"{name}-{i}" for i in range(1, ready + 1)]
    ready_revs = [r for r in revs if r not in unready]
    latest_ready = ready_revs[-1] if ready_revs else ""
    if status is None:
        status = [served(str(t.get("revisionName") or latest_ready), t["percent"], t.get("tag", ""),
                         bool(t.get("latestRevision"))) for t in spec]
    svc = {"metadata": {"name": name}, "spec": {"traffic": spec},
           "status": {"traffic": status, "latestReadyRevisionName": latest_ready}}
    objs = [revision(r, i + 1, r not in unready) for i, r in enumerate(revs)]
    return ServiceState.of(svc, reversed(objs))


def shape(split: Split) -> list[tuple[str, int, str]]:
    return [(e.ref, e.percent, e.tag) for e in split.entries]


def targets(traffic: list[dict[str, Any]]) -> list[tuple[str, int, str]]:
    return sorted(((LATEST if t.get("latestRevision") else t["revisionName"]), t["percent"], t.get("tag", ""))
                  for t in traffic)


# --- rebalance --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("percents", "index", "value", "locked", "expected"), [
    pytest.param([100, 0], 0, 70, (), [70, 30], id="others-at-zero-share-equally"),
    pytest.param([50, 30, 20], 0, 80, (), [80, 12, 8], id="proportional-down"),
    pytest.param([50, 30, 20], 0, 0, (), [0, 60, 40], id="proportional-up"),
    pytest.param([34, 33, 33], 0, 0, (), [0, 50, 50], id="even"),
    pytest.param([40, 30, 30], 0, 51, (), [51, 25, 24], id="tie-to-the-earlier"),
    pytest.param([10, 60, 30], 1, 50, (), [12, 50, 38], id="tie-to-the-larger-share"),
    pytest.param([10, 30, 60], 2, 95, (), [1, 4, 95], id="remainder-to-the-largest-fraction"),
    pytest.param([50, 30, 20], 0, 90, (2,), [80, 0, 20], id="clamped-by-a-lock"),
    pytest.param([50, 30, 20], 0, 40, (1,), [40, 30, 30], id="lock-kept-rest-to-the-free-one"),
    pytest.param([100], 0, 30, (), [100], id="alone-stays-at-100"),
    pytest.param([50, 50], 0, 70, (1,), [50, 50], id="everything-else-locked"),
    pytest.param([50, 50], 0, 60, (0,), [60, 40], id="the-moved-one-is-never-locked"),
    pytest.param([50, 50], 0, -5, (), [0, 100], id="below-zero"),
    pytest.param([50, 50], 1, 150, (), [0, 100], id="above-100"),
    pytest.param([0, 1, 2], 0, 1, (), [1, 33, 66], id="any-input-ends-at-100"),
    pytest.param([20, 0, 80], 2, 70, (), [30, 0, 70], id="zero-stays-zero-when-others-have-some"),
])
def test_rebalance(percents: list[int], index: int, value: int, locked: tuple[int, ...],
                   expected: list[int]) -> None:
    assert rebalance(percents, index, value, locked) == expected


def test_rebalance_holds_100_and_proportion_for_any_move() -> None:
    rng = random.Random(8)
    for _ in range(2000):
        n = rng.randint(2, 6)
        cuts = sorted(rng.randint(0, 100) for _ in range(n - 1))
        percents = [b - a for a, b in zip([0, *cuts], [*cuts, 100], strict=True)]
        index = rng.randrange(n)
        locked = {j for j in range(n) if j != index and rng.random() < 0.25}
        out = rebalance(percents, index, rng.randint(-10, 110), locked)
        assert sum(out) == 100 and all(0 <= p <= 100 for p in out), (percents, index, locked, out)
        assert all(out[j] == percents[j] for j in locked)
        free = [j for j in range(n) if j != index and j not in locked]
        for a in free:
            for b in free:
                if percents[a] > percents[b]:
                    assert out[a] >= out[b], (percents, index, locked, out)


def test_split_move_respects_locks_and_keeps_tags() -> None:
    split = Split((Entry(LATEST, 50, "cur"), Entry("s-2", 30, locked=True), Entry("s-1", 20, "old")))
    moved = split.move("s-1", 60)
    assert shape(moved) == [(LATEST, 10, "cur"), ("s-2", 30, ""), ("s-1", 60, "old")]
    assert moved.move("s-1", 95).percents() == {LATEST: 0, "s-2": 30, "s-1": 70}
    assert moved.locking("s-2", False).move("s-1", 95).percents() == {LATEST: 1, "s-2": 4, "s-1": 95}
    with pytest.raises(KeyError, match="no entry for 'nope'"):
        split.move("nope", 10)


# --- from the Service --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("spec", "expected"), [
    pytest.param([], [(LATEST, 100, ""), ("s-3", 0, ""), ("s-2", 0, ""), ("s-1", 0, "")], id="empty-is-latest"),
    pytest.param([latest(100)], [(LATEST, 100, ""), ("s-3", 0, ""), ("s-2", 0, ""), ("s-1", 0, "")],
                 id="latest-first-then-newest"),
    pytest.param([rev("s-1", 50, "blue"), latest(50, "green")],
                 [(LATEST, 50, "green"), ("s-3", 0, ""), ("s-2", 0, ""), ("s-1", 50, "blue")], id="tags"),
    pytest.param([rev("s-1", 0, "a"), rev("s-1", 30, "b"), latest(70)],
                 [(LATEST, 70, ""), ("s-3", 0, ""), ("s-2", 0, ""), ("s-1", 30, "a")], id="two-targets-one-entry"),
    pytest.param([rev("gone", 100)], [("s-3", 0, ""), ("s-2", 0, ""), ("s-1", 0, ""), ("gone", 100, "")],
                 id="a-missing-revision-is-kept-last"),
])
def test_current_split(spec: list[dict[str, Any]], expected: list[tuple[str, int, str]]) -> None:
    assert shape(current_split(state(spec, ready=3))) == expected


def test_state_orders_revisions_by_generation_and_keeps_only_ready_ones() -> None:
    s = state([latest(100)], ready=3, unready=("s-3",))
    assert s.revisions == ("s-1", "s-2", "s-3") and s.ready == ("s-1", "s-2") and s.latest_ready == "s-2"
    assert shape(current_split(s)) == [(LATEST, 100, ""), ("s-2", 0, ""), ("s-1", 0, "")]
    assert s.serving() == {"s-2": 100}


# --- to spec.traffic ---------------------------------------------------------------------------------------


def test_a_moved_slider_becomes_kn_flags_and_the_spec() -> None:
    s = state([latest(100)])
    edit = current_split(s).move("s-1", 30)
    f = flags(s, edit)
    assert f.traffic == ("@latest=70", "s-2=0", "s-1=30") and f.tags == () and f.untag == ()
    assert targets(spec_traffic(s, edit)) == [(LATEST, 70, ""), ("s-1", 30, "")]


@pytest.mark.parametrize(("edit", "untag", "tags", "expected"), [
    pytest.param(lambda sp: sp.tagged("s-1", "old"), ("blue",), ("s-1=old",),
                 [(LATEST, 50, "green"), ("s-1", 50, "old")], id="rename"),
    pytest.param(lambda sp: sp.tagged("s-1", ""), ("blue",), (), [(LATEST, 50, "green"), ("s-1", 50, "")],
                 id="remove"),
    pytest.param(lambda sp: sp.tagged("s-1", "green").tagged(LATEST, "blue"), ("green", "blue"),
                 ("@latest=blue", "s-1=green"), [(LATEST, 50, "blue"), ("s-1", 50, "green")], id="swap"),
    pytest.param(lambda sp: sp.tagged("s-2", "pinned"), (), ("s-2=pinned",),
                 [(LATEST, 50, "green"), ("s-1", 50, "blue"), ("s-2", 0, "pinned")], id="tag-only-target-kept"),
    pytest.param(lambda sp: sp.tagged("s-1", " spaced "), ("blue",), ("s-1=spaced",),
                 [(LATEST, 50, "green"), ("s-1", 50, "spaced")], id="trimmed"),
])
def test_tag_edits(edit: Any, untag: tuple[str, ...], tags: tuple[str, ...],
                   expected: list[tuple[str, int, str]]) -> None:
    s = state([rev("s-1", 50, "blue"), latest(50, "green")])
    split = edit(current_split(s))
    f = flags(s, split)
    assert sorted(f.untag) == sorted(untag) and sorted(f.tags) == sorted(tags)
    assert targets(spec_traffic(s, split)) == sorted(expected)


def test_a_tag_used_twice_is_refused_with_kns_message() -> None:
    s = state([rev("s-1", 50, "blue"), latest(50)])
    with pytest.raises(TrafficError, match="refusing to overwrite existing tag in service"):
        spec_traffic(s, current_split(s).tagged(LATEST, "blue"))


def test_an_unknown_revision_reaches_the_spec_for_the_server_to_judge() -> None:
    s = state([latest(100)])
    edit = current_split(s).assigned({"nope": 100})
    assert targets(spec_traffic(s, edit)) == [("nope", 100, "")]


# --- the preview -------------------------------------------------------------------------------------------


def test_diff_per_revision() -> None:
    s = state([latest(100, "cur")], ready=3)
    edited = [rev("s-3", 10), rev("s-2", 90, "old"), latest(0, "cur")]
    assert diff(s, edited) == [
        Change("s-3", 100, 10, ("cur",), ("cur",), latest_before=True, latest_after=True),
        Change("s-2", 0, 90, (), ("old",)),
    ]
    assert [c.changed for c in diff(s, [latest(100, "cur")])] == [False]


def test_diff_reads_the_route_status_not_the_spec() -> None:
    s = state([latest(100)], [served("s-1", 100)])  # the Route still serves s-1 while s-2 rolls out
    assert diff(s, [latest(100)]) == [Change("s-2", 0, 100, latest_after=True), Change("s-1", 100, 0)]


# --- the moves ---------------------------------------------------------------------------------------------


def test_promote_latest_keeps_tags() -> None:
    s = state([rev("s-1", 90, "old"), rev("s-2", 10)])
    split = promote_latest(current_split(s))
    assert split.percents() == {LATEST: 100, "s-2": 0, "s-1": 0} and split.entry("s-1").tag == "old"
    assert targets(spec_traffic(s, split)) == [(LATEST, 100, ""), ("s-1", 0, "old")]


@pytest.mark.parametrize(("spec", "ready", "unready", "expected"), [
    pytest.param([latest(100)], 3, (), "s-2", id="from-latest"),
    pytest.param([rev("s-2", 100)], 3, (), "s-1", id="again"),
    pytest.param([rev("s-2", 30), rev("s-3", 70)], 3, (), "s-2", id="before-the-main-one"),
    pytest.param([latest(100)], 3, ("s-2",), "s-1", id="skips-unready"),
])
def test_roll_back(spec: list[dict[str, Any]], ready: int, unready: tuple[str, ...], expected: str) -> None:
    s = state(spec, ready=ready, unready=unready)
    split = roll_back(s, current_split(s))
    assert {r: p for r, p in split.percents().items() if p} == {expected: 100}
    assert targets(spec_traffic(s, split)) == [(expected, 100, "")]


def test_roll_back_with_nothing_earlier() -> None:
    s = state([rev("s-1", 100)])
    with pytest.raises(MoveError, match="no ready revision of 's' before s-1 to roll back to"):
        roll_back(s, current_split(s))


@pytest.mark.parametrize(("spec", "ready", "expected"), [
    pytest.param([latest(100)], 2, {"s-2": 10, "s-1": 90}, id="from-latest"),
    pytest.param([rev("s-1", 100)], 2, {"s-2": 10, "s-1": 90}, id="after-a-roll-back"),
    pytest.param([rev("s-1", 50), latest(50)], 2, {"s-2": 10, "s-1": 90}, id="from-half"),
    pytest.param([rev("s-1", 60), rev("s-2", 40)], 3, {"s-3": 10, "s-1": 90}, id="the-main-one-keeps-90"),
])
def test_canary(spec: list[dict[str, Any]], ready: int, expected: dict[str, int]) -> None:
    s = state(spec, ready=ready)
    split = canary(s, current_split(s))
    assert {r: p for r, p in split.percents().items() if p} == expected
    assert sum(split.percents().values()) == 100
    assert targets(spec_traffic(s, split)) == sorted((r, p, "") for r, p in expected.items())


@pytest.mark.parametrize(("spec", "ready", "percent", "message"), [
    pytest.param([latest(100)], 1, 10, "a canary needs a second ready revision; 's' has only s-1", id="one"),
    pytest.param([latest(100)], 2, 100, "canary percent = 100, must be between 1 and 99", id="percent"),
])
def test_canary_refused(spec: list[dict[str, Any]], ready: int, percent: int, message: str) -> None:
    s = state(spec, ready=ready)
    with pytest.raises(MoveError, match=message):
        canary(s, current_split(s), percent)


@pytest.mark.parametrize(("spec", "ready", "expected"), [
    pytest.param([rev("s-1", 90, "blue"), rev("s-2", 10, "green")], 2, {"s-1": 10, "s-2": 90}, id="two-live"),
    pytest.param([rev("s-1", 100, "blue"), rev("s-2", 0, "green")], 3, {"s-2": 100}, id="to-the-tagged-standby"),
    pytest.param([rev("s-1", 100)], 2, {"s-2": 100}, id="to-the-latest"),
    pytest.param([latest(100)], 2, {"s-1": 100}, id="from-latest-to-the-one-before"),
])
def test_blue_green(spec: list[dict[str, Any]], ready: int, expected: dict[str, int]) -> None:
    s = state(spec, ready=ready)
    before = current_split(s)
    split = blue_green(s, before)
    assert {r: p for r, p in split.percents().items() if p} == expected
    assert all(split.entry(e.ref).tag == e.tag for e in before.entries)  # tags stay with their revisions
    assert served_by(s, blue_green(s, split)) == served_by(s, before)  # and back


def served_by(s: ServiceState, split: Split) -> dict[str, int]:
    out: dict[str, int] = {}
    for e in split.entries:
        out[s.resolve(e.ref)] = out.get(s.resolve(e.ref), 0) + e.percent
    return {r: p for r, p in out.items() if p}


@pytest.mark.parametrize(("spec", "ready", "message"), [
    pytest.param([rev("s-1", 50), rev("s-2", 25), rev("s-3", 25)], 3, "blue/green switches two revisions; 3 have",
                 id="three"),
    pytest.param([latest(100)], 1, "blue/green needs a second revision; 's' has only s-1", id="one"),
])
def test_blue_green_refused(spec: list[dict[str, Any]], ready: int, message: str) -> None:
    s = state(spec, ready=ready)
    with pytest.raises(MoveError, match=message):
        blue_green(s, current_split(s))
