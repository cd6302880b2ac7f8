"""An urllib handler that refuses redirects (shared by key discovery and token exchange)."""

from __future__ import annotations

import urllib.request
from typing import Any


class NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect could move key discovery or a token request to another host, or down
    # to plain http.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None
