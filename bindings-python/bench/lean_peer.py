"""The lean way a Python team writes ``POST /v2/supplier/link-sessions`` without this library
(issue 18): ``json.loads``, pydantic v2 ``model_validate`` on a request model with the same
rules, ``secrets.token_urlsafe(32)``, a dict store, and a plain dict answered with
``json.dumps``. No response model, no extra copies. ``bench_create_session.py`` checks that it
answers the same bytes as the library for the same request (apart from the random token).

Two entry points, one per path of the benchmark:

- :meth:`LeanPeer.handle` (bytes in, bytes out): method, path, headers and body bytes to a
  status, headers and body bytes, as a WSGI/ASGI handler would;
- :meth:`LeanPeer.create` (objects in, objects out): keyword arguments to the response dict.
"""

from __future__ import annotations

import json
import secrets
from typing import Any, Dict, List, Literal, Optional, Tuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from nox_authenticator import Catalog

TTL_SECONDS = 600
LINK_BASE = "https://auth.nox.energy/ui"
RESPONSE_HEADERS = [("content-type", "application/json"), ("cache-control", "no-store")]
# The core's `invalid_id` rule: no control characters (Unicode category Cc).
_NO_CONTROL = r"^[^\x00-\x1f\x7f-\x9f]*$"


class CreateSupplierLinkSession(BaseModel):
    """The request body, with the endpoint's rules (lengths, control characters, enums)."""

    model_config = ConfigDict(extra="ignore")
    user_id: str = Field(min_length=1, max_length=255, pattern=_NO_CONTROL)
    redirect_url: str = Field(min_length=1, max_length=2048)
    asset_type: Literal["hp", "pv"]
    brand: Optional[str] = Field(default=None, min_length=1, max_length=255)
    language: Literal["nl", "en", "fr", "es"] = "nl"


def _spelling(text: str) -> str:
    return text.strip().lower().replace(" ", "-").replace("_", "-")


class LeanPeer:
    """One supplier's configuration, the same brand data as the library, a dict store."""

    def __init__(self, api_key: str, supplier_id: str, name: str, redirect_urls: List[str]):
        self.suppliers = {api_key: (supplier_id, name, frozenset(redirect_urls))}
        self.brands: Dict[Tuple[str, str], str] = {}
        for brand in Catalog.builtin().all_brands():
            for spelling in (brand.slug, brand.display_name, *brand.aliases):
                self.brands[(brand.asset_type.value, _spelling(spelling))] = brand.slug
        self.sessions: Dict[str, Dict[str, Any]] = {}

    def _create(self, supplier: Tuple[str, str, frozenset], request: CreateSupplierLinkSession,
                now: int) -> Dict[str, Any]:
        if request.redirect_url not in supplier[2]:
            raise ValueError("redirect_url is not registered with your supplier account")
        brand = None
        if request.brand is not None:
            brand = self.brands.get((request.asset_type, _spelling(request.brand)))
            if brand is None:
                raise ValueError("brand is not a brand of this asset type")
        token = secrets.token_urlsafe(32)
        session = {
            "link_url": f"{LINK_BASE}?token={token}&language={request.language}",
            "link_token": token,
            "brand": brand,
            "language": request.language,
            "asset_type": request.asset_type,
            "redirect_url": request.redirect_url,
            "supplier": supplier[1],
            "supplier_user_id": request.user_id,
            "completed_at": None,
            "created_at": now,
            "expires_at": now + TTL_SECONDS,
        }
        self.sessions[token] = session
        return session

    def handle(self, method: str, path: str, headers: Dict[str, str], body: bytes,
               now: int) -> Tuple[int, List[Tuple[str, str]], bytes]:
        """Bytes in, bytes out."""
        if method != "POST" or path != "/v2/supplier/link-sessions":
            return 404, RESPONSE_HEADERS, b'{"error":"not found"}'
        supplier = self.suppliers.get(headers.get("x-api-key", ""))
        if supplier is None:
            return 401, RESPONSE_HEADERS, b'{"error":"Invalid API key"}'
        if not headers.get("content-type", "").startswith("application/json"):
            return 415, RESPONSE_HEADERS, b'{"error":"unsupported media type"}'
        try:
            request = CreateSupplierLinkSession.model_validate(json.loads(body))
            session = self._create(supplier, request, now)
        except (ValueError, ValidationError) as error:  # json.JSONDecodeError is a ValueError
            return 400, RESPONSE_HEADERS, json.dumps({"error": str(error)}).encode()
        return 201, RESPONSE_HEADERS, json.dumps(session, separators=(",", ":")).encode()

    def create(self, *, api_key: str, user_id: str, redirect_url: str, asset_type: str,
               brand: Optional[str] = None, language: Optional[str] = None,
               now: int) -> Dict[str, Any]:
        """Objects in, objects out."""
        supplier = self.suppliers.get(api_key)
        if supplier is None:
            raise PermissionError("Invalid API key")
        fields: Dict[str, Any] = {"user_id": user_id, "redirect_url": redirect_url,
                                  "asset_type": asset_type, "brand": brand}
        if language is not None:
            fields["language"] = language
        return self._create(supplier, CreateSupplierLinkSession.model_validate(fields), now)
