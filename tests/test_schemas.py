"""A field is defined once: the schema's limits are what the API document says and what the
form, spreadsheet and API checks enforce."""

from __future__ import annotations

from flask import Flask

from permits.models import Kind, Role, utcnow
from permits.schemas import application_fields as schema
from permits.services import application_fields
from permits.views.api.openapi import SPEC
from tests.api_helpers import Api
from tests.factories import make_user


def test_every_field_of_each_kind_has_one_rule_and_no_other_field_is_accepted() -> None:
    for kind, model in schema.FIELDS_OF.items():
        assert list(application_fields.RULES[kind]) == list(model.model_fields)


def test_the_document_states_the_limits_the_checks_enforce(app: Flask) -> None:
    fields = SPEC["components"]["schemas"]["WorkResumptionCreate"]["properties"]
    assert fields["site_address"]["maxLength"] == schema.SITE_ADDRESS_MAX
    assert fields["contact_name"]["maxLength"] == schema.NAME_MAX
    assert fields["staff_on_site"]["maximum"] == schema.STAFF_MAX
    with app.test_request_context():
        at_most = application_fields.clean(
            Kind.WORK_RESUMPTION,
            {"site_address": "x" * schema.SITE_ADDRESS_MAX, "staff_on_site": schema.STAFF_MAX},
            now=utcnow(),
        )
        over = application_fields.clean(
            Kind.WORK_RESUMPTION,
            {"site_address": "x" * (schema.SITE_ADDRESS_MAX + 1), "staff_on_site": 100_001},
            now=utcnow(),
        )
    assert not at_most.problems
    assert over.problems == {  # in the service's default language
        "site_address": f"最多 {schema.SITE_ADDRESS_MAX} 个字符。",
        "staff_on_site": "请输入 1 至 100,000 之间的整数。",
    }


def test_an_unknown_field_is_refused_by_name_as_the_document_says(app: Flask) -> None:
    assert SPEC["components"]["schemas"]["VehiclePassCreate"]["additionalProperties"] is False
    api = Api(app.test_client(), make_user(Role.ENTERPRISE))
    answer = api.post("/applications", {"kind": "vehicle_pass", "site_address": "1号楼"})
    assert answer.status_code == 422
    assert answer.get_json()["fields"] == {"site_address": "此类申请不包含该字段。"}
