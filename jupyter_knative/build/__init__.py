"""Source to artifact: the step executor Knative Build and Tekton TaskRuns share.

    workspace.py       Workspace: a run's host directories standing for container paths
    images.py          what an image means here: a host tool, an image builder, a helper, or neither (pure)
    builders.py        the request a kaniko / buildpacks / ko step makes (pure)
    launch.py          the process that runs a step (pure, but for PATH look-ups)
    steps.py           Step, StepResult, StepRunner: run a step with its log, deadline and process group
    pods.py            the Pod object a run shows, from its steps' results (pure)
    python_builder.py  the built-in image builder (a step's process)
    tools.py           the build system's helper images: creds-init, git-init, nop (a step's process)
"""

from .images import KNATIVE_CREDS_INIT, KNATIVE_GIT_INIT, KNATIVE_NOP, ImageKind, classify
from .pods import STEP_POD_ANNOTATION, container, is_step_pod, pod_status, step_pod, terminated_state
from .steps import AUTO, Step, StepResult, StepRunner, detect_engine
from .workspace import Workspace

__all__ = [
    "AUTO",
    "KNATIVE_CREDS_INIT",
    "KNATIVE_GIT_INIT",
    "KNATIVE_NOP",
    "STEP_POD_ANNOTATION",
    "ImageKind",
    "Step",
    "StepResult",
    "StepRunner",
    "Workspace",
    "classify",
    "container",
    "detect_engine",
    "is_step_pod",
    "pod_status",
    "step_pod",
    "terminated_state",
]
