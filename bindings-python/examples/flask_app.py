"""Serves the whole NOX Authenticator API (all four endpoints) from a Flask app.

Every request goes to ``Authenticator.handle_http``, which routes, authenticates, validates
and answers it; the app only passes what it received and writes back what it gets.

Run it::

    pip install flask nox-authenticator
    python examples/flask_app.py --config examples/demo_config.json --port 8080
    curl -s -X POST http://127.0.0.1:8080/v2/supplier/link-sessions \\
      -H 'x-api-key: demo-supplier-key' -H 'content-type: application/json' \\
      -d '{"user_id": "u1", "redirect_url": "https://your-app.com/callback", "asset_type": "hp"}'
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from flask import Flask, Response, request

from nox_authenticator import Authenticator

_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def create_app(authenticator: Authenticator, *, serve_admin: bool = False) -> Flask:
    """A Flask app that answers every path through ``authenticator.handle_http``.

    With ``serve_admin``, paths under ``/admin/`` go to ``handle_admin_http`` (session lookup
    and completion): only with an admin key in the configuration, or behind a port the public
    cannot reach.
    """
    app = Flask(__name__)

    def serve(path: str = "") -> Response:
        # The core wants the path as sent (the v1 `userId` segment still percent-encoded);
        # Werkzeug's server keeps it in RAW_URI, `request.path` is already decoded.
        raw_path = request.environ.get("RAW_URI") or request.full_path
        adapter = authenticator.handle_http
        if serve_admin and raw_path.startswith("/admin/"):
            adapter = authenticator.handle_admin_http
        answer = adapter(
            request.method,
            raw_path,
            headers=list(request.headers.items()),
            body=request.get_data(cache=False),
        )
        return Response(answer.body, status=answer.status, headers=answer.headers)

    app.add_url_rule("/", "root", serve, methods=_METHODS, provide_automatic_options=False)
    app.add_url_rule(
        "/<path:path>", "any", serve, methods=_METHODS, provide_automatic_options=False
    )
    return app


def app_from_env() -> Flask:
    """The app for a WSGI server with several worker processes, configured by ``NOX_CONFIG``
    (a JSON configuration file). Give the configuration a shared ``"store"`` (``sqlite:PATH``
    or a ``postgres://`` URL) so that every worker sees the same sessions::

        NOX_CONFIG=config.json gunicorn --workers 4 'flask_app:app_from_env()'

    Each worker opens the store itself: do not use ``--preload``, which would share one
    database connection across forked processes.
    """
    config_path = Path(os.environ["NOX_CONFIG"])
    authenticator = Authenticator.from_json(config_path.read_text(encoding="utf-8"))
    return create_app(authenticator, serve_admin=os.environ.get("NOX_SERVE_ADMIN") == "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_config = Path(__file__).with_name("demo_config.json")
    parser.add_argument("--config", type=Path, default=default_config)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    authenticator = Authenticator.from_json(args.config.read_text(encoding="utf-8"))
    create_app(authenticator).run(host=args.host, port=args.port, threaded=True)


if __name__ == "__main__":
    main()
