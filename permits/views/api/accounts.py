"""Who am I: lets an API client check its token and see its role and scope."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask_login import current_user
from werkzeug.wrappers import Response

from permits.models import User
from permits.views.api import bp


def user_json(user: User) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role.value,
    }
    if user.enterprise is not None:
        data["enterprise"] = {
            "uscc": user.enterprise.uscc,
            "name": user.enterprise.name,
            "district": user.enterprise.district,
        }
    if user.department is not None:
        data["department"] = {"code": user.department.code, "scope": user.department.scope}
    if user.checkpoint is not None:
        data["checkpoint"] = {"code": user.checkpoint.code, "name": user.checkpoint.name}
    return data


@bp.get("/me")
def me() -> Response:
    return jsonify(user_json(current_user._get_current_object()))
