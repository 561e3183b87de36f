"""Live widgets: dashboard, traffic split, event flow (filled by the widgets issue)."""
