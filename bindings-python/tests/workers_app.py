"""The Flask example as gunicorn loads it in test_workers.py, with each response naming the
worker process that answered it (so the test can see requests cross workers)."""

from __future__ import annotations

import os

from flask import Response

from flask_app import app_from_env

app = app_from_env()


@app.after_request
def _name_the_worker(response: Response) -> Response:
    response.headers["x-worker-pid"] = str(os.getpid())
    return response
