"""`kn service update --traffic/--tag/--untag`, as a pure function of the Service and the flags.

The rules and messages are kn's (knative/client, pkg/kn/traffic): references are revision names, tags or
`@latest`; percents are whole numbers 0..100 (a trailing `%` is allowed) summing to at most 100; when they
sum to less, the remainder goes to the one target of the current split that was not named (to `@latest`
when the same update creates a new revision), and anything else is an error; untag, then tag, then
traffic, whatever order the flags came in; targets left with no tag and 0% are dropped.

    TrafficError (ValueError)   every refusal, with kn's message
"""

from __future__ import annotations

import copy
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["LATEST", "TrafficError", "TrafficFlags", "compute", "flags"]

LATEST = "@latest"
_PERCENT = re.compile(r"^[+-]?[0-9]+$")

Target = dict[str, Any]


class TrafficError(ValueError):
    """A traffic, tag or untag request kn would refuse."""


@dataclass(frozen=True)
class TrafficFlags:
    """What the user asked for, as kn's repeated or comma-separated flag values."""

    traffic: tuple[str, ...] = ()  # "ref=percent" or "percent" (meaning @latest)
    tags: tuple[str, ...] = ()  # "ref=tag" or "tag" (meaning @latest)
    untag: tuple[str, ...] = ()

    @property
    def traffic_given(self) -> bool:
        return bool(self.traffic)


def flags(traffic: Mapping[str, int | str] | Sequence[str] = (), tags: Mapping[str, str] | Sequence[str] = (),
          untag: Sequence[str] = ()) -> TrafficFlags:
    """Flags from Python values: mappings (ref → percent, ref → tag) or kn's `a=b` strings."""
    return TrafficFlags(_values(traffic), _values(tags), tuple(_split_commas(untag)))


def _values(given: Mapping[str, Any] | Sequence[str]) -> tuple[str, ...]:
    if isinstance(given, Mapping):
        return tuple(f"{ref}={value}" for ref, value in given.items())
    if isinstance(given, str):
        given = [given]
    return tuple(_split_commas(given))


def _split_commas(values: Sequence[str]) -> list[str]:
    return [part for value in values for part in str(value).split(",")]


def split_pair(pair: str) -> tuple[str, str]:
    """`ref=value` → (ref, value without a trailing %); a bare `value` refers to @latest."""
    parts = pair.split("=")
    if len(parts) == 1:
        return LATEST, parts[0]
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise TrafficError(f"expecting the value format in value1=value2, given {pair}")
    return parts[0], parts[1].removesuffix("%")


def _repeated(flag: str, ref: str) -> TrafficError:
    what = f"identifier {LATEST}" if ref == LATEST else f"revision reference {ref}"
    return TrafficError(f"repetition of {what} is not allowed, use only once with {flag} flag")


def _unallocatable(total: int, count_problem: bool) -> TrafficError:
    why = ("incorrect number of revisions specified. Only 1 revision should be missing" if count_problem
           else "cannot determine the missing revision")
    return TrafficError(f"unable to allocate the remaining traffic: {100 - total}%. Reason: {why}")


def _overwrite(tag: str) -> TrafficError:
    return TrafficError(f"refusing to overwrite existing tag in service, add flag '--untag {tag}' in command to "
                        f"untag it")


# --- verification: the percents, and where a remainder goes -------------------------------------------


def _check_tags(given: TrafficFlags) -> None:
    latest_seen = False
    for pair in given.tags:
        ref, _ = split_pair(pair)
        if ref == LATEST:
            if latest_seen:
                raise _repeated("--tag", LATEST)
            latest_seen = True


def _percents(given: TrafficFlags) -> tuple[list[tuple[str, int]], int]:
    seen: set[str] = set()
    out: list[tuple[str, int]] = []
    for pair in given.traffic:
        ref, text = split_pair(pair)
        if ref in seen:
            raise _repeated("--traffic", ref)
        seen.add(ref)
        if not _PERCENT.match(text):
            raise TrafficError(f"error converting given {text} to integer value for traffic distribution")
        percent = int(text)
        if not 0 <= percent <= 100:
            raise TrafficError(f"invalid value for traffic percent {percent}, expected 0 <= percent <= 100")
        out.append((ref, percent))
    return out, sum(p for _, p in out)


def _remainder(shares: list[tuple[str, int]], total: int, *, current: Sequence[Target], revisions: Collection[str],
               latest_ready: str, mutation: bool) -> tuple[str, int] | None:
    """Where the rest of 100% goes, or None when nothing is left over."""
    if not shares or total == 100:
        return None
    if total > 100:
        raise TrafficError(f"given traffic percents sum to {total}, want <=100")
    named = {ref for ref, _ in shares}
    existing = len(current)
    if len(shares) < existing - 1:
        raise _unallocatable(total, True)
    if mutation:
        if len(shares) != existing:
            raise _unallocatable(total, True)
        if LATEST not in named:
            return LATEST, 100 - total
    else:
        if len(shares) != existing - 1:
            raise _unallocatable(total, True)
        if LATEST in named:
            named.add(latest_ready)
    for target in current:
        revision = target.get("revisionName") or ""
        if revision not in revisions:
            break
        tags = {t.get("tag") for t in current if t.get("revisionName") == revision and t.get("tag")}
        if revision not in named and not (tags & named):
            return revision, 100 - total
    raise _unallocatable(total, False)


# --- the new traffic block ------------------------------------------------------------------------------


def _is_latest(target: Target) -> bool:
    return bool(target.get("latestRevision")) or (not target.get("revisionName") and
                                                  target.get("latestRevision") is None)


def _new_target(*, tag: str = "", revision: str = "", percent: int = 0, latest: bool = False) -> Target:
    target: Target = {"tag": tag} if tag else {}
    if latest:
        target["latestRevision"] = True
    else:
        target.update(revisionName=revision, latestRevision=False)
    target["percent"] = percent
    return target


def _untag(traffic: list[Target], tags: Sequence[str], service: str) -> None:
    missing = []
    for tag in tags:
        target = next((t for t in traffic if t.get("tag") == tag), None)
        if target is None:
            missing.append(tag)
        else:
            target.pop("tag", None)
    if missing:
        raise TrafficError(f"tag(s) {', '.join(missing)} not present for any revisions of service {service}")


def _tag(traffic: list[Target], pairs: Sequence[str]) -> None:
    for pair in pairs:
        ref, tag = split_pair(pair)
        if ref == LATEST:
            _tag_latest(traffic, tag)
            continue
        if any(t.get("tag") == tag and t.get("revisionName") == ref for t in traffic):
            continue  # already so
        if any(t.get("tag") == tag for t in traffic):
            raise _overwrite(tag)
        _tag_revision(traffic, ref, tag)


def _tag_latest(traffic: list[Target], tag: str) -> None:
    latest = next((t for t in traffic if _is_latest(t)), None)
    existing = (latest or {}).get("tag") or ""
    if existing == tag:
        return
    if any(t.get("tag") == tag for t in traffic):
        raise _overwrite(tag)
    if existing:
        raise TrafficError(f"tag '{existing}' exists on latest ready revision of service, refusing to overwrite "
                           f"existing tag with '{tag}', add flag '--untag {existing}' in command to untag it")
    if latest is not None:
        latest["tag"] = tag
    else:
        traffic.append(_new_target(tag=tag, latest=True))


def _tag_revision(traffic: list[Target], revision: str, tag: str) -> None:
    for target in traffic:
        if target.get("revisionName") == revision:
            if target.get("tag"):
                break  # a second tag for the revision: a target of its own
            target["tag"] = tag
            return
    traffic.append(_new_target(tag=tag, revision=revision))


def _find(traffic: list[Target], ref: str) -> Target | None:
    if ref == LATEST:
        return next((t for t in traffic if _is_latest(t)), None)
    # a tag names its target before a revision name does: tags are unique
    for key in ("tag", "revisionName"):
        for t in traffic:
            if t.get(key) == ref:
                return t
    return None


def _split(traffic: list[Target], shares: Sequence[tuple[str, int]]) -> list[Target]:
    for existing in traffic:
        existing["percent"] = 0  # what is given is the whole desired split
    for ref, percent in shares:
        target = _find(traffic, ref)
        if target is not None:
            target["percent"] = percent
        else:
            traffic.append(_new_target(revision=ref, percent=percent, latest=ref == LATEST))
    return traffic


def compute(service: str, spec_traffic: Sequence[Target], given: TrafficFlags, *,
            status_traffic: Sequence[Target] = (), revisions: Collection[str] = (), latest_ready: str = "",
            mutation: bool = False) -> list[Target]:
    """The Service's new `spec.traffic`.

    `spec_traffic`/`status_traffic` are the Service's current ones, `revisions` the names of its revisions,
    `latest_ready` its latest ready revision, `mutation` whether this update also creates a revision.
    """
    _check_tags(given)
    shares, total = _percents(given)
    rest = _remainder(shares, total, current=status_traffic, revisions=revisions, latest_ready=latest_ready,
                      mutation=mutation)
    if rest is not None:
        shares.append(rest)
    traffic = copy.deepcopy(list(spec_traffic)) or [_new_target(latest=True, percent=100)]
    _untag(traffic, given.untag, service)
    _tag(traffic, given.tags)
    if given.traffic_given:
        traffic = _split(traffic, shares)
    return [t for t in traffic if t.get("tag") or int(t.get("percent") or 0) != 0]
