"""The embedded plane's Kubernetes-compatible API server and the daemon that hosts it."""
