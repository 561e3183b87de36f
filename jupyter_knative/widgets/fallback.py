"""Live widgets that still show something where widgets do not run (nbconvert, GitHub's viewer)."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets  # type: ignore[import-untyped, unused-ignore]


class LiveBox(widgets.VBox):  # type: ignore[misc]
    """A VBox whose output carries, beside the widget view, a static HTML copy of what it shows now."""

    def static_html(self) -> str:
        raise NotImplementedError

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        bundle: dict[str, Any] | None = super()._repr_mimebundle_(**kwargs)
        if bundle is not None:
            bundle["text/html"] = self.static_html()
        return bundle
