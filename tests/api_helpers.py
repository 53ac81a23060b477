"""Calling the JSON API as a client system would: with a Bearer token per user."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from permits.extensions import db
from permits.models import User, utcnow
from permits.services import api_tokens


def token_for(user: User) -> str:
    _token, plain = api_tokens.issue_api_token(user, "tests", now=utcnow())
    db.session.commit()
    return plain


class Api:
    """A small client: `api.post("/applications", {...})` returns the response."""

    def __init__(self, client: FlaskClient, user: User) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token_for(user)}"}
        self.user = user

    def call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.client.open(
            "/api/v1" + path, method=method, json=body, headers=self.headers, **kwargs
        )

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.call("POST", path, body, **kwargs)

    def patch(self, path: str, body: Any = None) -> Any:
        return self.call("PATCH", path, body)
