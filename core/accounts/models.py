"""Users (partners and staff) and their API tokens."""

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.base.extensions import db
from core.base.timeutil import UTCDateTime, now_utc

#: Staff roles (rules: "Staff roles").
STAFF_ROLES = ("admin", "finance", "support", "content")



class User(UserMixin, db.Model):
    """A person who logs in: a partner (has a ``partner`` profile) or staff (has roles)."""

    __tablename__ = "users"
    __table_args__ = (
        # Back-office partner search (ILIKE '%word%'): trigram GIN on PostgreSQL, plain on
        # SQLite (migration e5f6a7b8c9d0).
        Index("ix_users_name_trgm", "name", postgresql_using="gin",
              postgresql_ops={"name": "gin_trgm_ops"}),
        Index("ix_users_email_trgm", "email", postgresql_using="gin",
              postgresql_ops={"email": "gin_trgm_ops"}),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Lower-cased e-mail, unique.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    #: Werkzeug scrypt hash.
    password_hash: Mapped[str] = mapped_column(String(255))
    is_staff: Mapped[bool] = mapped_column(default=False)
    #: Comma-separated staff roles, a subset of ``STAFF_ROLES``; empty for partners.
    roles: Mapped[str] = mapped_column(String(100), default="")
    #: Bumped to end every session of the user (suspension, password change).
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    #: Staff TOTP secret (base32, RFC 6238) once two-factor is set up; ``None`` before.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    #: Last TOTP time step accepted, so a code works once (ASVS 2.8.4).
    totp_last_step: Mapped[int | None]
    #: When the person proved the e-mail address is theirs (the link of the verification
    #: e-mail, or a password reset); ``None`` until then. Staff, seeded users and rows
    #: older than the column count as verified (core/account_email.py).
    email_verified_at: Mapped[object | None] = mapped_column(UTCDateTime)

    partner = relationship("Partner", back_populates="user", uselist=False,
                           foreign_keys="Partner.user_id")

    def get_id(self) -> str:
        """Flask-Login id: ``"<id>:<session_version>"`` so bumping the version logs out."""
        return f"{self.id}:{self.session_version}"

    @property
    def role_set(self) -> frozenset[str]:
        """The staff roles as a set (empty for partners)."""
        return frozenset(r for r in (self.roles or "").split(",") if r)

    #: Roles an API key narrows this request to (set by the API's bearer check), or None.
    scoped_roles = None  # frozenset[str] | None, per request; not a column
    #: The ``ApiToken`` (kind ``key``) this request authenticated with, or None.
    api_key = None  # per request; not a column

    def has_role(self, *roles: str) -> bool:
        """True when the user is staff and holds ``admin`` or any of ``roles`` (within the
        API key's roles when the request came with a scoped key)."""
        if not self.is_staff:
            return False
        have = self.role_set
        if self.scoped_roles is not None:  # a key never exceeds its owner (admin holds all)
            have = self.scoped_roles if "admin" in have else self.scoped_roles & have
        return "admin" in have or bool(have.intersection(roles))

    @property
    def is_active(self) -> bool:  # Flask-Login
        """Suspended partners cannot log in; applied partners can (to see their status)."""
        return not (self.partner is not None and self.partner.status == "suspended")

    def __repr__(self) -> str:
        return f"<User {self.email}>"



class ApiToken(db.Model):
    """A bearer token for ``/api`` calls; only its SHA-256 hash is stored.

    ``kind`` is ``login`` (from ``POST /api/auth/*/login``, ends with the session version)
    or ``key`` (a long-lived staff API key with a subset of the staff member's roles).
    """

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: Session version of the user when issued; a bump revokes the token.
    session_version: Mapped[int]
    #: login | key
    kind: Mapped[str] = mapped_column(String(10), default="login", server_default="login")
    #: A person's label for an API key ("HubSpot sync"); empty for logins.
    name: Mapped[str] = mapped_column(String(80), default="", server_default="")
    #: For keys: comma-separated roles, a subset of the owner's (never empty for a key).
    roles: Mapped[str] = mapped_column(String(100), default="", server_default="")
    last_used_at: Mapped[object | None] = mapped_column(UTCDateTime)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)
    expires_at: Mapped[object] = mapped_column(UTCDateTime)
    revoked_at: Mapped[object | None] = mapped_column(UTCDateTime)

    user = relationship("User")
