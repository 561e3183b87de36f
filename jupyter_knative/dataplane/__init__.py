"""The data plane: ingress, activator and queue-proxy jobs, and the replica supervisor."""
