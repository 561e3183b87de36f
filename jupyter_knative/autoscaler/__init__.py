"""Knative's KPA: a pure decider over time-bucketed metric windows, and its tick loop."""
