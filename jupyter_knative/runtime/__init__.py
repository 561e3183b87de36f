"""The function runtime a replica runs (filled by the serving issue)."""
