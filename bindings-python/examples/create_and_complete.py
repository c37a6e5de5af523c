"""Creates a v2 supplier link session, reads its link URL back, and completes it.

Run it: ``python examples/create_and_complete.py``
"""

from __future__ import annotations

import json
from pathlib import Path

from nox_authenticator import (
    AssetType,
    Authenticator,
    Language,
    SessionAlreadyCompletedError,
    SessionState,
    parse_link_url,
)


def main() -> None:
    config = json.loads(Path(__file__).with_name("demo_config.json").read_text(encoding="utf-8"))
    auth = Authenticator.from_config(config)

    session = auth.create_supplier_link_session(
        api_key="demo-supplier-key",
        user_id="customer-42",
        redirect_url="https://your-app.com/callback",
        asset_type=AssetType.HEAT_PUMP,
        brand="Saunier Duval",
        language=Language.FR,
    )
    print("created:", session)
    print("send the end-user to:", session.link_url)
    print("wire body:", json.dumps(session.to_dict()))

    parts = parse_link_url(session.link_url)
    assert parts.token == session.token and parts.language is Language.FR

    completed = auth.complete_session(session.token)
    assert completed.state() is SessionState.COMPLETED
    print("completed at:", completed.completed_at)

    try:
        auth.complete_session(session.token)
    except SessionAlreadyCompletedError as error:
        print("second completion refused:", error.code, error.status)


if __name__ == "__main__":
    main()
