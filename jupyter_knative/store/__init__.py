"""The embedded etcd: objects in SQLite, served from memory, watched in resourceVersion order."""

from .store import NAMESPACES, PROTECTED_NAMESPACES, Entry, Store
from .watching import Predicate, Watch, WatchEvent

__all__ = ["NAMESPACES", "PROTECTED_NAMESPACES", "Entry", "Predicate", "Store", "Watch", "WatchEvent"]
