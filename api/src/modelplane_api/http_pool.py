"""One connection pool to a server the facade calls (serving pods, MLflow, Prometheus)."""

from __future__ import annotations

import httpx


class HttpPool:
    """An `httpx.AsyncClient` made on first use, so an app whose lifespan restarted (tests do
    that) gets a fresh one in the running event loop; closed at app shutdown."""

    def __init__(
        self,
        timeout: httpx.Timeout,
        limits: httpx.Limits | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.timeout = timeout
        self.limits = limits or httpx.Limits()
        self._headers = dict(headers or {})
        """Sent on every request (a request's own header of the same name replaces one)."""
        self._client: httpx.AsyncClient | None = None

    def client(self) -> httpx.AsyncClient:
        """The pool's client (a new one after `aclose`)."""
        if self._client is None or self._client.is_closed:
            self._client = httpx.AsyncClient(
                timeout=self.timeout, limits=self.limits, headers=self._headers
            )
        return self._client

    async def aclose(self) -> None:
        """Close the connections."""
        if self._client is not None:
            await self._client.aclose()
        self._client = None
