"""The arithmetic of a traffic split held at 100%, and the common moves, as pure functions.

A `Split` is what the traffic widget edits: one `Entry` per traffic reference — `@latest` (the Service's
latest ready revision, followed as it changes) or a revision name — with its percent and tag. Moving one
entry rebalances the unlocked others in proportion to what they had, in whole percents, so the total stays
exactly 100. An edit becomes kn's `--traffic/--tag/--untag` values (`flags`) and the Service's new
`spec.traffic` through the very rules `Client.traffic` applies (`client.trafficrules.compute`), so the
preview is what Apply writes.

    MoveError (ValueError)   a move that the Service's revisions do not allow (nothing to roll back to, ...)
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from jupyter_knative.client.trafficrules import LATEST, TrafficFlags, compute

__all__ = [
    "LATEST",
    "Change",
    "Entry",
    "MoveError",
    "ServiceState",
    "Split",
    "blue_green",
    "canary",
    "current_split",
    "diff",
    "flags",
    "promote_latest",
    "rebalance",
    "roll_back",
    "spec_traffic",
]

Target = Mapping[str, Any]
GENERATION_LABEL = "serving.knative.dev/configurationGeneration"


class MoveError(ValueError):
    """A move the Service's revisions do not allow."""


# --- the Service as the split sees it ---------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceState:
    """What a split is computed against: the Service's traffic (spec and status) and its revisions."""

    name: str
    spec_traffic: tuple[Target, ...] = ()
    status_traffic: tuple[Target, ...] = ()
    ready: tuple[str, ...] = ()  # ready revisions, oldest first
    revisions: tuple[str, ...] = ()  # every revision, oldest first
    latest_ready: str = ""

    @classmethod
    def of(cls, service: Mapping[str, Any], revisions: Iterable[Mapping[str, Any]] = ()) -> ServiceState:
        """From a Service object and its Revision objects (in any order)."""
        spec, status = service.get("spec") or {}, service.get("status") or {}
        ordered = sorted(revisions, key=_revision_order)
        return cls(name=str((service.get("metadata") or {}).get("name") or ""),
                   spec_traffic=tuple(spec.get("traffic") or ()), status_traffic=tuple(status.get("traffic") or ()),
                   ready=tuple(_name(r) for r in ordered if _is_ready(r)), revisions=tuple(_name(r) for r in ordered),
                   latest_ready=str(status.get("latestReadyRevisionName") or ""))

    def resolve(self, ref: str) -> str:
        """The revision a reference serves now (`@latest`: the latest ready one)."""
        return self.latest_ready if ref == LATEST else ref

    def serving(self) -> dict[str, int]:
        """Percent per revision as the Route serves it (status; the spec resolved when there is no status)."""
        return _per_revision(self.status_traffic or self.spec_traffic or ({"latestRevision": True, "percent": 100},),
                             self.latest_ready)


def _name(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def _revision_order(obj: Mapping[str, Any]) -> tuple[int, str, str]:
    meta = obj.get("metadata") or {}
    generation = str((meta.get("labels") or {}).get(GENERATION_LABEL) or "")
    return (int(generation) if generation.isdigit() else 0, str(meta.get("creationTimestamp") or ""), _name(obj))


def _is_ready(obj: Mapping[str, Any]) -> bool:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def ref_of(target: Target) -> str:
    """A traffic target's reference: `@latest` when it follows the latest revision, else its revision."""
    if target.get("latestRevision") or (not target.get("revisionName") and target.get("latestRevision") is None):
        return LATEST
    return str(target.get("revisionName") or "")


def _per_revision(targets: Iterable[Target], latest_ready: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for target in targets:
        revision = str(target.get("revisionName") or "") or (latest_ready if ref_of(target) == LATEST else "")
        out[revision] = out.get(revision, 0) + int(target.get("percent") or 0)
    return out


# --- the edit -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    ref: str  # LATEST or a revision name
    percent: int
    tag: str = ""
    locked: bool = False  # kept as it is while other entries move


@dataclass(frozen=True)
class Split:
    entries: tuple[Entry, ...]

    @property
    def total(self) -> int:
        return sum(e.percent for e in self.entries)

    @property
    def refs(self) -> tuple[str, ...]:
        return tuple(e.ref for e in self.entries)

    def percents(self) -> dict[str, int]:
        return {e.ref: e.percent for e in self.entries}

    def entry(self, ref: str) -> Entry:
        return self.entries[self._index(ref)]

    def _index(self, ref: str) -> int:
        for i, e in enumerate(self.entries):
            if e.ref == ref:
                return i
        raise KeyError(f"no entry for {ref!r} in the split (entries: {', '.join(self.refs) or 'none'})")

    def move(self, ref: str, percent: int) -> Split:
        """`ref` at `percent` (as near as the locked entries allow), the unlocked others rebalanced."""
        i = self._index(ref)
        locked = [j for j, e in enumerate(self.entries) if e.locked]
        values = rebalance([e.percent for e in self.entries], i, percent, locked)
        return Split(tuple(replace(e, percent=v) for e, v in zip(self.entries, values, strict=True)))

    def tagged(self, ref: str, tag: str) -> Split:
        return self._with(ref, tag=tag.strip())

    def locking(self, ref: str, locked: bool = True) -> Split:
        return self._with(ref, locked=locked)

    def _with(self, ref: str, **changes: Any) -> Split:
        i = self._index(ref)
        entries = list(self.entries)
        entries[i] = replace(entries[i], **changes)
        return Split(tuple(entries))

    def assigned(self, percents: Mapping[str, int]) -> Split:
        """Exactly these percents (entries not named get 0, new refs are added), every lock released."""
        known = [replace(e, percent=percents.get(e.ref, 0), locked=False) for e in self.entries]
        added = [Entry(ref, percent) for ref, percent in percents.items() if ref not in self.refs]
        return Split(tuple(added + known))

    def including(self, refs: Iterable[str]) -> Split:
        """The same split with a 0% entry for each of `refs` it does not have yet (appended)."""
        missing = [Entry(ref, 0) for ref in dict.fromkeys(refs) if ref not in self.refs]
        return Split(self.entries + tuple(missing)) if missing else self


def rebalance(percents: Sequence[int], index: int, value: int, locked: Collection[int] = ()) -> list[int]:
    """`percents` with `percents[index]` set to `value` and the other unlocked entries sharing the rest in
    proportion to what they had (equally when they all had 0), in whole percents summing with the locked ones
    to exactly 100 (largest remainders first; ties to the larger share, then the earlier entry). `value` is
    clamped to what the locked entries leave; with no other unlocked entry, nothing else can give or take."""
    free = [j for j in range(len(percents)) if j != index and j not in locked]
    available = max(0, 100 - sum(percents[j] for j in locked if j != index))
    out = list(percents)
    if not free:
        out[index] = available
        return out
    out[index] = min(max(value, 0), available)
    weights = [percents[j] for j in free]
    if sum(weights) <= 0:
        weights = [1] * len(free)
    for j, share in zip(free, _shares(available - out[index], weights), strict=True):
        out[j] = share
    return out


def _shares(total: int, weights: Sequence[int]) -> list[int]:
    """`total` in whole parts proportional to `weights` (Hamilton's largest-remainder method)."""
    whole = sum(weights)
    exact = [total * w for w in weights]
    parts = [e // whole for e in exact]
    order = sorted(range(len(weights)), key=lambda j: (-(exact[j] % whole), -weights[j], j))
    for j in order[:total - sum(parts)]:
        parts[j] += 1
    return parts


# --- from the Service, and back ----------------------------------------------------------------------


def current_split(state: ServiceState) -> Split:
    """The Service's traffic as a split: one entry per reference in `spec.traffic` (`@latest` first, then
    revisions newest first), and a 0% entry for every ready revision it does not name. When the spec names a
    revision twice (two tags), the entry carries the sum and the first tag; the other tag is left as it is."""
    entries: dict[str, Entry] = {}
    for target in state.spec_traffic or ({"latestRevision": True, "percent": 100},):
        ref = ref_of(target)
        if not ref:
            continue
        percent, tag = int(target.get("percent") or 0), str(target.get("tag") or "")
        seen = entries.get(ref)
        entries[ref] = (Entry(ref, percent, tag) if seen is None
                        else replace(seen, percent=seen.percent + percent, tag=seen.tag or tag))
    for revision in state.ready:
        entries.setdefault(revision, Entry(revision, 0))
    return Split(tuple(sorted(entries.values(), key=lambda e: _display_order(state, e.ref))))


def _display_order(state: ServiceState, ref: str) -> tuple[int, int, str]:
    if ref == LATEST:
        return (0, 0, "")
    known = state.revisions.index(ref) if ref in state.revisions else -1  # unknown: last
    return (1, -known, ref)


def flags(state: ServiceState, split: Split) -> TrafficFlags:
    """kn's flags for going from the Service's traffic to `split`: every entry's percent, the tags that
    changed (untag the old one, tag the new one)."""
    before = {e.ref: e.tag for e in current_split(state).entries}
    untag = [before[e.ref] for e in split.entries if before.get(e.ref) and before[e.ref] != e.tag]
    tags = [f"{e.ref}={e.tag}" for e in split.entries if e.tag and e.tag != before.get(e.ref, "")]
    return TrafficFlags(traffic=tuple(f"{e.ref}={e.percent}" for e in split.entries), tags=tuple(tags),
                        untag=tuple(untag))


def spec_traffic(state: ServiceState, split: Split) -> list[dict[str, Any]]:
    """The Service's `spec.traffic` for `split`, by kn's rules (raises `TrafficError` with kn's message)."""
    return compute(state.name, [dict(t) for t in state.spec_traffic], flags(state, split),
                   status_traffic=[dict(t) for t in state.status_traffic], revisions=state.revisions,
                   latest_ready=state.latest_ready)


# --- the preview --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One revision's traffic before (as the Route serves it) and after the edit."""

    revision: str
    before: int
    after: int
    tags_before: tuple[str, ...] = ()
    tags_after: tuple[str, ...] = ()
    latest_before: bool = False  # reached through @latest
    latest_after: bool = False

    @property
    def changed(self) -> bool:
        return (self.before, self.tags_before, self.latest_before) != (self.after, self.tags_after, self.latest_after)


_Side = tuple[int, tuple[str, ...], bool]  # percent, tags, reached through @latest
_NOTHING: _Side = (0, (), False)


def diff(state: ServiceState, edited: Sequence[Target]) -> list[Change]:
    """Per revision (newest first), the Route's current traffic against `edited` (a `spec.traffic`)."""
    current = state.status_traffic or state.spec_traffic or ({"latestRevision": True, "percent": 100},)
    before, after = _summary(current, state.latest_ready), _summary(edited, state.latest_ready)
    revisions = sorted(set(before) | set(after), key=lambda r: _display_order(state, r))
    return [_change(r, before.get(r, _NOTHING), after.get(r, _NOTHING)) for r in revisions]


def _change(revision: str, before: _Side, after: _Side) -> Change:
    return Change(revision, before[0], after[0], before[1], after[1], before[2], after[2])


def _summary(targets: Iterable[Target], latest_ready: str) -> dict[str, _Side]:
    out: dict[str, _Side] = {}
    for t in targets:
        latest = ref_of(t) == LATEST
        revision = str(t.get("revisionName") or "") or (latest_ready if latest else "")
        percent, tags, via_latest = out.get(revision, _NOTHING)
        tag = str(t.get("tag") or "")
        out[revision] = (percent + int(t.get("percent") or 0), tuple(sorted({*tags, tag} - {""})),
                         via_latest or latest)
    return out


# --- the common moves ------------------------------------------------------------------------------------


def promote_latest(split: Split) -> Split:
    """All traffic to `@latest` (the latest ready revision, followed from now on)."""
    return split.assigned({LATEST: 100})


def roll_back(state: ServiceState, split: Split) -> Split:
    """All traffic to the ready revision before the one serving most now, pinned by name."""
    serving = _main_revision(state)
    earlier = [r for r in state.ready if _older(state, r, serving)]
    if not earlier:
        raise MoveError(f"no ready revision of '{state.name}' before {serving or 'the current one'} to roll back "
                        f"to (ready: {', '.join(state.ready) or 'none'})")
    return split.assigned({earlier[-1]: 100})


def canary(state: ServiceState, split: Split, percent: int = 10) -> Split:
    """`percent` to the latest ready revision, the rest to the revision serving most besides it (or the one
    ready before it), both pinned by name."""
    if not 0 < percent < 100:
        raise MoveError(f"canary percent = {percent}, must be between 1 and 99")
    latest = state.latest_ready
    if not latest:
        raise MoveError(f"'{state.name}' has no ready revision yet")
    current = _main_revision(state, besides=latest)
    if not current:
        earlier = [r for r in state.ready if _older(state, r, latest)]
        if not earlier:
            raise MoveError(f"a canary needs a second ready revision; '{state.name}' has only {latest}")
        current = earlier[-1]
    return split.assigned({latest: percent, current: 100 - percent})


def blue_green(state: ServiceState, split: Split) -> Split:
    """Swap the two entries that have traffic; with one, swap it with the tagged standby entry at 0% (or the
    latest ready revision, or the one ready before it)."""
    live = [e for e in split.entries if e.percent > 0]
    if len(live) > 2:
        raise MoveError(f"blue/green switches two revisions; {len(live)} have traffic: "
                        + ", ".join(f"{e.ref} {e.percent}%" for e in live))
    if not live:
        raise MoveError("no entry has traffic to switch")
    partner = live[1] if len(live) == 2 else _standby(state, split, live[0])
    if partner is None:
        raise MoveError(f"blue/green needs a second revision; '{state.name}' has only "
                        f"{state.resolve(live[0].ref) or live[0].ref}")
    blue = live[0]
    percents = split.percents() | {blue.ref: partner.percent, partner.ref: blue.percent}
    return split.assigned(percents)


def _standby(state: ServiceState, split: Split, blue: Entry) -> Entry | None:
    serving = state.resolve(blue.ref)
    others = [e for e in split.entries if e.ref != blue.ref and state.resolve(e.ref) != serving]
    tagged = [e for e in others if e.tag]
    if tagged:
        return tagged[0]
    wanted = state.latest_ready if serving != state.latest_ready else next(
        (r for r in reversed(state.ready) if _older(state, r, serving)), "")
    return next((e for e in others if e.ref == wanted), Entry(wanted, 0) if wanted else None)


def _main_revision(state: ServiceState, besides: str = "") -> str:
    """The revision with the most traffic now (the newest on a tie), leaving out `besides`."""
    shares = [(p, _age(state, r), r) for r, p in state.serving().items() if r and r != besides and p > 0]
    return max(shares)[2] if shares else ("" if besides else state.latest_ready)


def _age(state: ServiceState, revision: str) -> int:
    return state.revisions.index(revision) if revision in state.revisions else -1


def _older(state: ServiceState, revision: str, than: str) -> bool:
    if than not in state.revisions:
        return revision != than
    return _age(state, revision) < _age(state, than)
