"""The Kubernetes client side shared by the notebook layer, widgets and the server extension."""
