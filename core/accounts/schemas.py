"""Accounts' API shapes: applying, logging in (bearer tokens) and staff API keys.

Times are ISO 8601 UTC.
"""

from typing import Annotated, Literal

from pydantic import AfterValidator, WithJsonSchema

from core.accounts.models import STAFF_ROLES
from core.base.errors import DomainError
from core.base.schemas import (
    MISSING,
    Answer,
    Field,
    Page,
    Request,
    Says,
    SchemaError,
    Time,
)


def _accepted(value: bool) -> bool:
    if value is not True:
        raise ValueError("accept_terms must be true.")
    return value


_EMAIL = Says("email must be a valid e-mail address, like name@example.com.")


class Registration(Request):
    """Apply as a partner (status applied until staff approve). Keys other than these
    (status, tier, rates, ids...) are ignored."""

    email: Annotated[str, _EMAIL] = Field(max_length=254)
    password: str = Field(min_length=10, max_length=200)
    name: str = Field(min_length=1, max_length=120)
    accept_terms: Annotated[bool, AfterValidator(_accepted), WithJsonSchema({"const": True}),
                            Says("accept_terms must be true: accept the partner agreement "
                                 "to apply.")]
    referral_code: str | None = Field(None, max_length=40)
    company_name: str = Field("", max_length=200)
    experience_level: Literal["beginner", "intermediate", "advanced"] | None = Field(
        None, description="Sales experience (optional)")
    goal_deals: int | None = Field(None, ge=0, le=500,
                                   description="Monthly goal: confirmed deals (optional)")
    goal_revenue_cents: int | None = Field(
        None, ge=0, le=1_000_000_000, description="Monthly goal: revenue in cents (optional)")


class Applied(Answer):
    """The same answer whether or not the address has an account: look for the e-mail,
    then log in."""

    status: Literal["check_email"]
    message: str


class ResetRequest(Request):
    """Ask for a password-reset link for an address."""

    email: Annotated[str, _EMAIL] = Field(max_length=254)


class ResetSent(Answer):
    """The same answer whether or not the address has an account: the link, if any, is
    in the mailbox (1 hour, once)."""

    status: Literal["check_email"]
    message: str


class NewPassword(Request):
    """Set a new password with the token of the reset link (the part after
    ``/password/reset/``)."""

    token: str = Field(min_length=1, max_length=500)
    new_password: str = Field(min_length=1, max_length=200,
                              description="10 to 200 characters, not a common password")


class PasswordChanged(Answer):
    """The password is changed; every session and login token of the account ended."""

    status: Literal["password_changed"]
    message: str


class WrongCredentials(DomainError):
    """E-mail and password do not match an active account (401), whatever was wrong."""

    status = 401
    code = "invalid_credentials"

    def __init__(self):
        super().__init__("That e-mail and password do not match an active account.")


class Login(Request):
    """A partner's e-mail and password. Anything malformed gets the same 401 as a wrong
    password."""

    email: str = Field(max_length=254)
    password: str = Field(max_length=1000)

    @classmethod
    def refused(cls, error: SchemaError) -> DomainError:
        """A malformed log-in is answered as a wrong one (``WrongCredentials``)."""
        return WrongCredentials()


class StaffLogin(Login):
    """A staff member's e-mail and password; with two-factor also ``otp``."""

    otp: str = Field(MISSING, max_length=12, description="6-digit TOTP code (staff with "
                                                         "two-factor)")


class Token(Answer):
    """A bearer token for ``Authorization: Bearer <token>`` (staff: with their roles)."""

    token: str
    expires_at: Time
    roles: list[str]


Role = Literal[STAFF_ROLES]


class ApiKey(Answer):
    """A staff API key with a subset of its owner's roles; ``key`` is shown once, when
    it is made."""

    id: int
    name: str
    key: str = Field(MISSING, description="The key itself: shown once, at creation")
    roles: list[str]
    created_at: Time
    expires_at: Time
    revoked_at: Time | None
    last_used_at: Time | None

    @classmethod
    def of(cls, k, key: str | None = None) -> "ApiKey":
        """The shape of an ``ApiToken`` key row (``key``: the secret, at creation)."""
        extra = {"key": key} if key is not None else {}
        return cls(id=k.id, name=k.name, roles=[r for r in k.roles.split(",") if r],
                   created_at=k.created_at, expires_at=k.expires_at,
                   revoked_at=k.revoked_at, last_used_at=k.last_used_at, **extra)


class ApiKeyPage(Page):
    """Your API keys, newest first."""

    items: list[ApiKey]
    next_cursor: None = None


class NewApiKey(Request):
    """A key's name and roles (within your own roles, or the calling key's scope)."""

    name: str = Field(min_length=1, max_length=80)
    roles: list[Role] = Field(min_length=1)
