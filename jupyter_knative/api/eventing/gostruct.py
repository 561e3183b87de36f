"""`fmt`'s `%v` of the few eventing structs whose whole value ends up in a message (Sequence steps and
Parallel branches refused with `invalid value: <%v>`), rebuilt from their JSON form.

Fields print in Go declaration order, nil pointers as `<nil>`, URLs as their text. Go prints a non-nil
pointer nested in a struct as a memory address; here a pointer to a struct prints as `&` and the
struct, a pointer to a string or number as the value, which says what a reader can use."""

from __future__ import annotations

from typing import Any

__all__ = ["branch_v", "step_v"]

# Go type -> (json key, Go type) in declaration order; "str" is a string, "*str" a *string, "url" *apis.URL.
_TYPES: dict[str, tuple[tuple[str, str], ...]] = {
    "Destination": (("ref", "*KReference"), ("uri", "url"), ("CACerts", "*str"), ("audience", "*str")),
    "KReference": (("kind", "str"), ("namespace", "str"), ("name", "str"), ("apiVersion", "str"),
                   ("group", "str"), ("address", "*str")),
    "DeliverySpec": (("deadLetterSink", "*Destination"), ("retry", "*int"), ("timeout", "*str"),
                     ("backoffPolicy", "*str"), ("backoffDelay", "*str"), ("retryAfterMax", "*str"),
                     ("format", "*str")),
}


def _v(value: Any, type_: str) -> str:
    if type_.startswith("*"):
        if value is None:
            return "<nil>"
        inner = type_[1:]
        return _v(value, inner) if inner in ("str", "int") else "&" + _v(value, inner)
    if type_ == "url":
        return "<nil>" if value is None else str(value)
    if type_ in ("str", "int"):
        return "" if value is None else str(value)
    fields = _TYPES[type_]
    obj = value if isinstance(value, dict) else {}
    return "{" + " ".join(_v(obj.get(k), t) for k, t in fields) + "}"


def step_v(step: Any) -> str:
    """A SequenceStep: the inlined Destination, then its delivery."""
    obj = step if isinstance(step, dict) else {}
    return "{" + _v(obj, "Destination") + " " + _v(obj.get("delivery"), "*DeliverySpec") + "}"


def branch_v(branch: Any) -> str:
    """A ParallelBranch: filter, subscriber, reply, delivery."""
    obj = branch if isinstance(branch, dict) else {}
    return "{" + " ".join((_v(obj.get("filter"), "*Destination"), _v(obj.get("subscriber"), "Destination"),
                           _v(obj.get("reply"), "*Destination"), _v(obj.get("delivery"), "*DeliverySpec"))) + "}"
