"""The readiness probe: `GET /readyz` over HTTPS with the bearer token, standard library only.

The CLI must start fast, so this avoids aiohttp and the kubernetes client.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from jupyter_knative.credentials import Credentials, client_ssl_context

__all__ = ["ProbeResult", "probe_ready"]


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    detail: str  # why not, for error messages; "ok" when ok

    def __bool__(self) -> bool:
        return self.ok


def probe_ready(api_url: str, creds: Credentials, timeout: float = 2.0) -> ProbeResult:
    """Whether the API server at `api_url` answers `/readyz` with 200 within `timeout` seconds."""
    import http.client  # here, not at the top: its email parsing costs the other commands' start-up

    url = urlsplit(api_url)
    if url.scheme != "https" or not url.hostname:
        return ProbeResult(False, f"api = {api_url!r}, must be an https:// URL")
    try:
        conn = http.client.HTTPSConnection(
            url.hostname, url.port, timeout=timeout, context=client_ssl_context(creds)
        )
        try:
            conn.request("GET", "/readyz", headers={"Authorization": f"Bearer {creds.token}"})
            response = conn.getresponse()
            body = response.read(200).decode("utf-8", "replace").strip()
        finally:
            conn.close()
    except (OSError, http.client.HTTPException, ValueError) as e:
        return ProbeResult(False, f"{type(e).__name__}: {e}" if str(e) else type(e).__name__)
    if response.status != 200:
        return ProbeResult(False, f"GET /readyz answered {response.status}: {body[:120]}")
    return ProbeResult(True, "ok")
