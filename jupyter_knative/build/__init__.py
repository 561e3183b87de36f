"""Source to artifact: function artifacts, Knative Build and Tekton TaskRun steps (filled by the build issue)."""
