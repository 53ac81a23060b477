"""Self-registration: an enterprise and its first account, checked field by field at once."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from permits.models import Role, User
from permits.services import accounts, organisations, passwords
from permits.services.errors import ValidationFailed


@dataclass(frozen=True)
class Registration:
    enterprise: organisations.EnterpriseDetails
    email: str
    password: str


def registration_problems(registration: Registration) -> dict[str, str]:
    """Every field of a self-registration that is wrong, with its message; writes nothing."""
    details = registration.enterprise
    problems = organisations.enterprise_problems(details, require_contact=True)
    try:
        email = organisations.normalize_email(registration.email)
    except ValidationFailed as exc:
        problems.update({k: str(v) for k, v in exc.fields.items()})
        email = registration.email
    try:
        passwords.check_new_password(registration.password, personal=(email, details.contact_name))
    except ValidationFailed as exc:
        problems.update({k: str(v) for k, v in exc.fields.items()})
    return problems


def register_enterprise(registration: Registration) -> User:
    """Self-registration: the enterprise and its first account, or every problem at once."""
    details = registration.enterprise
    problems = registration_problems(registration)
    if problems:
        raise ValidationFailed(_l("Some fields need your attention."), problems)
    email = organisations.normalize_email(registration.email)
    accounts.ensure_email_free(email)
    enterprise = organisations.create_enterprise(
        organisations.EnterpriseDetails(
            uscc=details.uscc,
            name=details.name,
            district=details.district,
            address=details.address,
            contact_name=details.contact_name,
            contact_phone=details.contact_phone,
            email=email,
        ),
        require_contact=True,
    )
    return accounts.create_user(
        email,
        Role.ENTERPRISE,
        registration.password,
        name=details.contact_name,
        enterprise=enterprise,
    )
