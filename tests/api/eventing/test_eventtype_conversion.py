"""EventType v1beta2 (stored) ↔ v1beta3 (attribute definitions), as Knative's conversion webhook."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_knative.api.eventing.conversion import convert_event_type
from jupyter_knative.api.status import BadRequest

BROKER = {"apiVersion": "eventing.knative.dev/v1", "kind": "Broker", "name": "default"}


def event_type(version: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": f"eventing.knative.dev/{version}", "kind": "EventType",
            "metadata": {"name": "orders", "namespace": "shop"}, "spec": spec}


def test_v1beta2_to_v1beta3_names_type_schema_and_source() -> None:
    old = event_type("v1beta2", {"type": "order.created", "source": "/shop", "schema": "https://x/s.json",
                                 "broker": "default", "description": "orders"})
    new = convert_event_type(old, "eventing.knative.dev/v1beta3")
    assert new["apiVersion"] == "eventing.knative.dev/v1beta3"
    assert new["spec"] == {"reference": BROKER, "description": "orders", "attributes": [
        {"name": "type", "required": True, "value": "order.created"},
        {"name": "schemadata", "required": False, "value": "https://x/s.json"},
        {"name": "source", "required": True, "value": "/shop"},
    ]}
    assert old["spec"]["type"] == "order.created"  # the input is left alone


def test_v1beta3_to_v1beta2_keeps_what_v1beta2_can_hold() -> None:
    new = event_type("v1beta3", {"reference": BROKER, "attributes": [
        {"name": "type", "required": True, "value": "order.created"},
        {"name": "source", "required": True, "value": "/shop"},
        {"name": "specversion", "required": True, "value": "1.0"},
        {"name": "id", "required": True},
        {"name": "region", "required": False, "value": "eu"},
    ]})
    old = convert_event_type(new, "eventing.knative.dev/v1beta2")
    assert old["spec"] == {"reference": BROKER, "type": "order.created", "source": "/shop"}
    assert convert_event_type(old, "eventing.knative.dev/v1beta1")["spec"] == old["spec"]


def test_v1beta3_must_name_the_required_attributes() -> None:
    new = event_type("v1beta3", {"attributes": [{"name": "type", "value": "t"}]})
    with pytest.raises(BadRequest) as err:
        convert_event_type(new, "eventing.knative.dev/v1beta2")
    assert str(err.value).endswith("missing field(s): spec.attributes.id, spec.attributes.source, "
                                   "spec.attributes.specversion")
