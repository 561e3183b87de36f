"""Admission for the build kinds: knative/build's webhook (`knative.py`) and Tekton's (`tekton*.py`)."""
