"""Namespace lifecycle controller: empties terminating namespaces and finalizes them.

    conditions.py  the deletion conditions, worded as kube-controller-manager words them (pure)
    reconciler.py  one pass over a terminating namespace
    controller.py  wiring to the manager
"""

from .conditions import CONDITION_TYPES, ContentTotals, failing_conditions, update_conditions
from .controller import CONTROLLER_NAME, new_controller
from .reconciler import NamespaceReconciler

__all__ = ["CONDITION_TYPES", "CONTROLLER_NAME", "ContentTotals", "NamespaceReconciler", "failing_conditions",
           "new_controller", "update_conditions"]
