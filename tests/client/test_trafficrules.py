"""kn's traffic rules as tables: the cases of knative/client's own compute tests and of its docs."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_knative.client.trafficrules import TrafficError, compute, flags

from .helpers import latest, rev

THREE = ["rev-00001", "rev-00002", "rev-00003"]


def run(spec: list[dict[str, Any]], *, traffic: Any = (), tags: Any = (), untag: Any = (),
        status: list[dict[str, Any]] | None = None, revisions: list[str] | None = None, latest_ready: str = "",
        mutation: bool = False) -> list[dict[str, Any]]:
    return compute("serviceName", spec, flags(traffic, tags, untag), status_traffic=status or [],
                   revisions=revisions or [], latest_ready=latest_ready, mutation=mutation)


def shape(targets: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    """(revision or @latest, tag, percent) per target: what kn's tests compare."""
    return [("@latest" if t.get("latestRevision") else t.get("revisionName", ""), t.get("tag", ""),
             t.get("percent", 0)) for t in targets]


# status.traffic of a three-revision service, the third being @latest
STATUS_3_LATEST = [rev("rev-00001"), rev("rev-00002"), {**rev("rev-00003", 100), "latestRevision": True}]
SPEC_3_LATEST = [rev("rev-00001"), rev("rev-00002"), latest(100)]


@pytest.mark.parametrize(("spec", "kwargs", "want"), [
    pytest.param([latest(100)], {"tags": ["@latest=latest"]}, [("@latest", "latest", 100)],
                 id="assign 'latest' tag to @latest revision"),
    pytest.param([latest(100)], {"tags": ["latest"]}, [("@latest", "latest", 100)],
                 id="assign 'latest' tag to @latest without a key"),
    pytest.param([rev("echo-v1", 100)], {"tags": ["echo-v1=stable"]}, [("echo-v1", "stable", 100)],
                 id="assign tag to revision"),
    pytest.param([latest(100, "current")], {"tags": ["@latest=current"]}, [("@latest", "current", 100)],
                 id="re-assign same tag to same revision (unchanged)"),
    pytest.param([latest(100), rev("rev-v1")], {"traffic": ["@latest=10,rev-v1=90"]},
                 [("@latest", "", 10), ("rev-v1", "", 90)], id="split traffic"),
    pytest.param([latest(100), rev("rev-v1")], {"traffic": ["@latest=10%,rev-v1=90%"]},
                 [("@latest", "", 10), ("rev-v1", "", 90)], id="split traffic with % suffix"),
    pytest.param([latest(100, "latest")], {"tags": ["echo-v0=stale,echo-v1=old"]},
                 [("@latest", "latest", 100), ("echo-v0", "stale", 0), ("echo-v1", "old", 0)],
                 id="add 2 tagged revisions without traffic"),
    pytest.param([rev("echo-v1", 100, "latest")], {"tags": ["echo-v1=latest"]}, [("echo-v1", "latest", 100)],
                 id="re-assign same tag to echo-v1"),
    pytest.param([rev("echo-v1", 100, "latest")], {"traffic": ["@latest=2,echo-v1=98"]},
                 [("echo-v1", "latest", 98), ("@latest", "", 2)], id="2% to @latest by appending it"),
    pytest.param([rev("echo-v1", 100, "latest")], {"traffic": ["@latest=2,echo-v1=98"], "tags": ["@latest=testing"]},
                 [("echo-v1", "latest", 98), ("@latest", "testing", 2)], id="2% to @latest with a tag"),
    pytest.param([rev("echo-v1", 100, "v1")], {"tags": ["echo-v2=v2"], "traffic": ["v1=10,v2=90"]},
                 [("echo-v1", "v1", 10), ("echo-v2", "v2", 90)], id="percents by tag, a new tagged revision"),
    pytest.param([rev("echo-v1", 100, "latest")], {"untag": ["latest"]}, [("echo-v1", "", 100)],
                 id="untag 'latest' from echo-v1"),
    pytest.param([rev("echo-v1", 50, "latest"), rev("echo-v2", 50)],
                 {"untag": ["latest"], "tags": ["echo-v1=old,echo-v2=latest"]},
                 [("echo-v1", "old", 50), ("echo-v2", "latest", 50)], id="untag before tag: move 'latest'"),
    pytest.param([rev("echo-v1", 50, "latest"), rev("echo-v2", 50)], {"tags": ["echo-v1=latest,echo-v1=current"]},
                 [("echo-v1", "latest", 50), ("echo-v2", "", 50), ("echo-v1", "current", 0)],
                 id="second tag for a revision in the block"),
    pytest.param([rev("echo-v2", 100)], {"tags": ["echo-v1=latest,echo-v1=current"]},
                 [("echo-v2", "", 100), ("echo-v1", "latest", 0), ("echo-v1", "current", 0)],
                 id="two tags for a revision not in the block"),
    pytest.param([latest(100)], {"traffic": ["echo-v1=10,@latest=90"]}, [("@latest", "", 90), ("echo-v1", "", 10)],
                 id="echo-v1 10% and the rest to @latest"),
    pytest.param([latest(100)], {"traffic": ["echo-v1=50", "@latest=50"]}, [("@latest", "", 50), ("echo-v1", "", 50)],
                 id="kn docs: --traffic echo-v1=50 --traffic @latest=50"),
    pytest.param([latest(100)], {"traffic": {"echo-v1": 50, "@latest": 50}},
                 [("@latest", "", 50), ("echo-v1", "", 50)], id="the same as a mapping"),
    pytest.param([rev("rev-00001"), rev("rev-00002"), rev("rev-00003", 100)],
                 {"traffic": ["rev-00001=10,rev-00002=10"], "status": [rev("rev-00001"), rev("rev-00002"),
                                                                       rev("rev-00003", 100)], "revisions": THREE},
                 [("rev-00001", "", 10), ("rev-00002", "", 10), ("rev-00003", "", 80)],
                 id="sum < 100: the remainder to the one target not named"),
    pytest.param(SPEC_3_LATEST, {"traffic": ["rev-00001=10,rev-00003=40,@latest=20"], "status": STATUS_3_LATEST,
                                 "revisions": THREE, "mutation": True, "latest_ready": "rev-00003"},
                 [("rev-00001", "", 10), ("rev-00002", "", 30), ("@latest", "", 20), ("rev-00003", "", 40)],
                 id="sum < 100 with @latest and a new revision: N refs"),
    pytest.param(SPEC_3_LATEST, {"traffic": ["rev-00001=10,@latest=20"], "status": STATUS_3_LATEST,
                                 "revisions": THREE, "latest_ready": "rev-00003"},
                 [("rev-00001", "", 10), ("rev-00002", "", 70), ("@latest", "", 20)],
                 id="sum < 100 with @latest and no new revision: N-1 refs"),
    pytest.param(SPEC_3_LATEST, {"traffic": ["rev-00001=10,rev-00003=40,rev-00002=30"], "status": STATUS_3_LATEST,
                                 "revisions": THREE, "mutation": True, "latest_ready": "rev-00003"},
                 [("rev-00001", "", 10), ("rev-00002", "", 30), ("@latest", "", 20), ("rev-00003", "", 40)],
                 id="sum < 100 and a new revision: the remainder to @latest"),
    pytest.param([rev("hello-00001", 50), latest(50)],
                 {"traffic": ["hello-00001=30"], "status": [rev("hello-00001", 50), {**rev("hello-00002", 50),
                                                                                     "latestRevision": True}],
                  "revisions": ["hello-00001", "hello-00002"], "latest_ready": "hello-00002"},
                 [("hello-00001", "", 30), ("hello-00002", "", 70)], id="the remainder pins the other revision"),
])
def test_compute(spec: list[dict[str, Any]], kwargs: dict[str, Any], want: list[tuple[str, str, int]]) -> None:
    assert shape(run(spec, **kwargs)) == want


UNALLOCATABLE_COUNT = "Reason: incorrect number of revisions specified. Only 1 revision should be missing"


@pytest.mark.parametrize(("spec", "kwargs", "message"), [
    pytest.param([latest(100)], {"traffic": ["@latest=100=latest"]},
                 "expecting the value format in value1=value2, given @latest=100=latest", id="bad --traffic format"),
    pytest.param([latest(100)], {"tags": ["@latest="]}, "expecting the value format in value1=value2, given @latest=",
                 id="bad --tag format"),
    pytest.param([latest(100)], {"traffic": ["@latest=90,@latest=10"]},
                 "repetition of identifier @latest is not allowed, use only once with --traffic flag",
                 id="@latest twice in --traffic"),
    pytest.param([latest(100)], {"tags": ["@latest=latest,@latest=2"]},
                 "repetition of identifier @latest is not allowed, use only once with --tag flag",
                 id="@latest twice in --tag"),
    pytest.param([latest(100)], {"tags": ["latest,current"]},
                 "repetition of identifier @latest is not allowed, use only once with --tag flag",
                 id="@latest twice in --tag without keys"),
    pytest.param([latest(2, "latest"), rev("echo-v2", 98, "stable")], {"tags": ["@latest=stable"]},
                 "refusing to overwrite existing tag in service, add flag '--untag stable' in command to untag it",
                 id="tag of another revision onto @latest"),
    pytest.param([latest(2, "latest"), rev("echo-v2", 98, "stable")], {"tags": ["echo-v2=latest"]},
                 "refusing to overwrite existing tag in service, add flag '--untag latest' in command to untag it",
                 id="tag of @latest onto another revision"),
    pytest.param([latest(100, "candidate")], {"tags": ["@latest=current"]},
                 "tag 'candidate' exists on latest ready revision of service, refusing to overwrite existing tag "
                 "with 'current', add flag '--untag candidate' in command to untag it", id="retag @latest"),
    pytest.param([latest(100)], {"traffic": ["@latest=100p"]},
                 "error converting given 100p to integer value for traffic distribution", id="not a number"),
    pytest.param([latest(100)], {"traffic": ["@latest=40,echo-v1=70"]}, "given traffic percents sum to 110, want <=100",
                 id="sum over 100"),
    pytest.param([latest(100)], {"traffic": ["@latest=-100"]},
                 "invalid value for traffic percent -100, expected 0 <= percent <= 100", id="out of range"),
    pytest.param([latest(100)], {"traffic": ["echo-v1=40", "echo-v1=60"]},
                 "repetition of revision reference echo-v1 is not allowed, use only once with --traffic flag",
                 id="a revision twice"),
    pytest.param([rev("echo-v1", 100, "latest")], {"untag": ["foo"]},
                 "tag(s) foo not present for any revisions of service serviceName", id="untag unknown tag"),
    pytest.param([rev("echo-v1", 100, "latest")], {"untag": ["foo", "bar"]},
                 "tag(s) foo, bar not present for any revisions of service serviceName", id="untag unknown tags"),
    pytest.param([rev("rev-00001"), rev("rev-00002"), rev("rev-00003", 100)],
                 {"traffic": ["rev-00001=10"], "status": [rev("rev-00001"), rev("rev-00002"), rev("rev-00003", 100)],
                  "revisions": THREE},
                 f"unable to allocate the remaining traffic: 90%. {UNALLOCATABLE_COUNT}", id="sum < 100, 2 missing"),
    pytest.param(SPEC_3_LATEST, {"traffic": ["rev-00001=10,@latest=20"], "status": STATUS_3_LATEST,
                                 "revisions": THREE, "mutation": True},
                 f"unable to allocate the remaining traffic: 70%. {UNALLOCATABLE_COUNT}",
                 id="sum < 100 with a new revision needs N refs"),
    pytest.param(SPEC_3_LATEST, {"traffic": ["rev-00001=10,rev-00002=10,@latest=20"], "status": STATUS_3_LATEST,
                                 "revisions": THREE},
                 f"unable to allocate the remaining traffic: 60%. {UNALLOCATABLE_COUNT}",
                 id="sum < 100 without a new revision needs N-1 refs"),
    pytest.param([rev("rev-00001", 0, "rev-00003"), rev("rev-00002"), latest(100)],
                 {"traffic": ["rev-00003=10,rev-00002=20"], "revisions": THREE,
                  "status": [rev("rev-00001", 0, "rev-00003"), rev("rev-00002"),
                             {**rev("rev-00003", 100), "latestRevision": True}]},
                 "unable to allocate the remaining traffic: 70%. Reason: cannot determine the missing revision",
                 id="sum < 100, every target named"),
])
def test_compute_refuses(spec: list[dict[str, Any]], kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(TrafficError) as err:
        run(spec, **kwargs)
    assert str(err.value) == message


def test_no_flags_leaves_traffic_alone() -> None:
    spec = [rev("a", 60, "x"), latest(40)]
    assert run(spec) == spec


def test_an_empty_block_means_all_to_latest() -> None:
    assert shape(run([], tags=["cur"])) == [("@latest", "cur", 100)]
