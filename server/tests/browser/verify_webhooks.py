#!/usr/bin/env python3
"""Verifies webhook deliveries with the independent ``standardwebhooks`` package from PyPI.

Reads a JSON file written by webhooks.test.mjs: ``{"secret": "whsec_…", "deliveries": [{"headers":
{…}, "body_base64": "…"}, …]}``, the requests exactly as the server sent them to a loopback
receiver. Prints one JSON line per delivery, ``{"ok": true, "type": …, "token": …}`` or
``{"ok": false, "error": …}``, and exits 0 (the caller decides what it expected).
"""

from __future__ import annotations

import base64
import json
import sys

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def main(path: str) -> None:
    with open(path, encoding="utf-8") as f:
        recorded = json.load(f)
    hook = Webhook(recorded["secret"])
    for delivery in recorded["deliveries"]:
        body = base64.b64decode(delivery["body_base64"])
        try:
            event = hook.verify(body, delivery["headers"])
        except WebhookVerificationError as e:
            print(json.dumps({"ok": False, "error": str(e)}))
            continue
        print(
            json.dumps(
                {
                    "ok": True,
                    "type": event["type"],
                    "token": event["data"]["session"]["link_token"],
                }
            )
        )


if __name__ == "__main__":
    main(sys.argv[1])
