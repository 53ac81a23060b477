"""The JSON API's public contract, pinned: the OpenAPI document the service serves is compared
with the committed copy, so any change to a route, a field, an enum or a limit shows up in review
as a change to tests/contracts/openapi.json. A deliberate change is recorded by running
`PERMITS_UPDATE_CONTRACT=1 .venv/bin/pytest tests/test_contract.py` and committing the file."""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path
from typing import Any

from flask import Flask

PINNED = Path(__file__).parent / "contracts" / "openapi.json"


def as_text(document: Any) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def test_the_served_openapi_document_is_the_pinned_contract(app: Flask) -> None:
    served = as_text(app.test_client().get("/api/v1/openapi.json").get_json())
    if os.environ.get("PERMITS_UPDATE_CONTRACT") == "1":
        PINNED.write_text(served, encoding="utf-8")
    pinned = PINNED.read_text(encoding="utf-8")
    changes = list(
        difflib.unified_diff(
            pinned.splitlines(), served.splitlines(), "pinned", "served", lineterm="", n=2
        )
    )
    assert not changes, (
        "The API contract changed; if that is deliberate, run PERMITS_UPDATE_CONTRACT=1 "
        "pytest tests/test_contract.py and commit tests/contracts/openapi.json:\n"
        + "\n".join(changes[:80])
    )
