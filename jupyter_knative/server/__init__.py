"""The Jupyter server extension (filled by the lab issue)."""
