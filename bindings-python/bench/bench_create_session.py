"""Per-call cost of creating a v2 supplier link session: through the binding, and the same work
done the way a Python team would write it without this library (pydantic v2 models,
``secrets.token_urlsafe(32)``, ``urllib.parse``, an in-memory dict store, the same exact-match
redirect check and brand lookup). Both run side by side in one process; the ratio is printed.

Run: ``bindings-python/.venv/bin/python bindings-python/bench/bench_create_session.py``
(after ``bindings-python/test.sh`` has built and installed the wheel).
"""

from __future__ import annotations

import argparse
import platform
import secrets
import time
from typing import Callable, Dict, Literal, Optional, Tuple
from urllib.parse import urlencode, urlsplit

from pydantic import BaseModel, ConfigDict, Field

import nox_authenticator
from nox_authenticator import AssetType, Authenticator, Catalog

API_KEY = "bench-key"
CALLBACK = "https://your-app.com/callback"
NOW = 1_703_123_456
# The pending-session caps (spec decision 12) lifted: the runs create a few hundred thousand.
CONFIG = {"suppliers": [{"id": "supplier_123", "name": "Acme Energy", "api_key": API_KEY,
                         "redirect_urls": [CALLBACK]}],
          "limits": {"pending_sessions_per_caller": 100_000_000,
                     "pending_sessions_total": 100_000_000}}


# --- the pure-Python way -----------------------------------------------------------------

class CreateSupplierLinkSessionRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    user_id: str = Field(min_length=1, max_length=255)
    redirect_url: str = Field(min_length=1, max_length=2048)
    asset_type: Literal["hp", "pv"]
    brand: Optional[str] = None
    language: Literal["nl", "en", "fr", "es"] = "nl"


class CreateSupplierLinkSessionResponse(BaseModel):
    link_url: str
    link_token: str
    brand: Optional[str]
    language: str
    asset_type: str
    redirect_url: str
    supplier: str
    supplier_user_id: str
    completed_at: Optional[int]
    created_at: int
    expires_at: int


class PurePythonAuthenticator:
    """What the binding does for this endpoint, in plain Python."""

    def __init__(self) -> None:
        self.suppliers = {API_KEY: ("supplier_123", "Acme Energy", {CALLBACK})}
        # The same brand data: normalised spelling -> slug, per asset type.
        self.brands: Dict[Tuple[str, str], str] = {}
        for brand in Catalog.builtin().all_brands():
            for spelling in (brand.slug, brand.display_name, *brand.aliases):
                key = spelling.lower().replace(" ", "-").replace("_", "-")
                self.brands[(brand.asset_type.value, key)] = brand.slug
        self.sessions: Dict[str, CreateSupplierLinkSessionResponse] = {}

    def create_supplier_link_session(self, api_key: str, body: dict, now: int) -> dict:
        supplier = self.suppliers.get(api_key)
        if supplier is None:
            raise PermissionError("Invalid API key")
        request = CreateSupplierLinkSessionRequest.model_validate(body)
        parts = urlsplit(request.redirect_url)
        if (parts.scheme != "https" or parts.fragment or "@" in parts.netloc
                or request.redirect_url not in supplier[2]):
            raise ValueError("redirect_url is not registered with your supplier account")
        brand = None
        if request.brand is not None:
            key = request.brand.lower().replace(" ", "-").replace("_", "-")
            brand = self.brands.get((request.asset_type, key))
            if brand is None:
                raise ValueError("brand is not a brand of this asset type")
        token = secrets.token_urlsafe(32)
        link_url = "https://auth.nox.energy/ui?" + urlencode(
            {"token": token, "language": request.language})
        response = CreateSupplierLinkSessionResponse(
            link_url=link_url, link_token=token, brand=brand, language=request.language,
            asset_type=request.asset_type, redirect_url=request.redirect_url,
            supplier=supplier[1], supplier_user_id=request.user_id, completed_at=None,
            created_at=now, expires_at=now + 600)
        self.sessions[token] = response
        return response.model_dump()


# --- measurement ---------------------------------------------------------------------------

def per_call(fns: Dict[str, Callable[[int], object]], calls: int,
             repeats: int) -> Dict[str, float]:
    """Best-of-`repeats` mean seconds per call of each function. The functions take turns in
    every repeat, so a busy machine slows them alike."""
    best = {name: float("inf") for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            for i in range(calls):
                fn(i)
            best[name] = min(best[name], (time.perf_counter() - start) / calls)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    auth = Authenticator.from_config(CONFIG)
    pure = PurePythonAuthenticator()
    body = {"redirect_url": CALLBACK, "asset_type": "hp", "brand": "alpha innotec"}

    # Same answer both ways (apart from the random token).
    a = auth.create_supplier_link_session(api_key=API_KEY, user_id="u", redirect_url=CALLBACK,
                                          asset_type=AssetType.HEAT_PUMP, brand="alpha innotec",
                                          now=NOW).to_dict()
    b = pure.create_supplier_link_session(API_KEY, {"user_id": "u", **body}, NOW)
    for d in (a, b):
        d.pop("link_token"), d.pop("link_url")
    assert a == b, (a, b)

    def binding(i: int) -> object:
        return auth.create_supplier_link_session(
            api_key=API_KEY, user_id=f"user-{i}", redirect_url=CALLBACK,
            asset_type=AssetType.HEAT_PUMP, brand="alpha innotec", now=NOW)

    def binding_dict(i: int) -> object:
        return binding(i).to_dict()  # type: ignore[attr-defined]

    def pure_python(i: int) -> object:
        return pure.create_supplier_link_session(API_KEY, {"user_id": f"user-{i}", **body}, NOW)

    results = per_call({
        "binding: create_supplier_link_session()": binding,
        "binding: create + to_dict()": binding_dict,
        "pure Python (pydantic v2)": pure_python,
    }, args.calls, args.repeats)
    print(f"nox_authenticator {nox_authenticator.__version__}, Python "
          f"{platform.python_version()}, {platform.machine()}, {platform.processor() or '?'}")
    print(f"{args.calls} calls x {args.repeats} repeats, best mean per call")
    for name, seconds in results.items():
        print(f"  {name:<42} {seconds * 1e6:8.2f} us")
    pure_cost = results["pure Python (pydantic v2)"]
    for name in list(results)[:2]:
        print(f"ratio pure Python / {name}: {pure_cost / results[name]:.2f}x")


if __name__ == "__main__":
    main()
