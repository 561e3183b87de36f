"""The eventing data plane: broker ingress and filter, channel dispatch, delivery, sources."""
