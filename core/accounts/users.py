"""Accounts: partner registration and approval, staff creation, login, API tokens."""

import hashlib
import re
import secrets
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from core.accounts.models import STAFF_ROLES, ApiToken, User
from core.base.audit import audit
from core.base.errors import Conflict, DomainError, Forbidden, NotFound, ValidationError
from core.base.extensions import db, get_row
from core.base.timeutil import now_utc

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
#: Length limits on account fields (characters).
MAX_NAME = 120
MIN_PASSWORD = 10
MAX_PASSWORD = 200


def normalise_email(email) -> str:
    """Lower-case and check an e-mail; raises ``ValidationError`` with a readable message."""
    if not isinstance(email, str) or not EMAIL_RE.match(email.strip()) or len(email) > 254:
        raise ValidationError("Enter a valid e-mail address, like name@example.com.")
    return email.strip().lower()


#: The 19,640 most common passwords of leaked password lists, lower-cased, one a line
#: (Django 5.2's ``common-passwords.txt.gz``, from Royce Williams' list; BSD licence).
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common-passwords.txt")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords as a set of lower-cased strings (read once)."""
    with COMMON_PASSWORDS_FILE.open(encoding="utf-8") as fh:
        return frozenset(line.strip() for line in fh if line.strip())


def check_password_rules(password) -> str:
    """Return the password when it is 10–200 characters and not a common password.

    Raises ``ValidationError`` saying which rule failed. The common-password check ignores
    case and surrounding spaces ("Password1234" is refused like "password1234").
    """
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise ValidationError(f"Choose a password of at least {MIN_PASSWORD} characters.")
    if len(password) > MAX_PASSWORD:
        raise ValidationError(f"Passwords are at most {MAX_PASSWORD} characters.")
    if password.strip().lower() in common_passwords():
        raise ValidationError("This password is on a list of common passwords that attackers "
                              "try first. Choose one that is not a common word or pattern.")
    return password


def hash_password(password: str) -> str:
    """Hash with Werkzeug's scrypt (memory-hard)."""
    return generate_password_hash(password, method="scrypt")


def _check_name(name) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValidationError("Enter your name.")
    if len(name.strip()) > MAX_NAME:
        raise ValidationError(f"Names are at most {MAX_NAME} characters.")
    return name.strip()








def create_staff(email, password, name, roles: list[str]) -> User:
    """Create a staff user with ``roles`` (subset of admin/finance/support/content).

    Raises ``ValidationError`` for an unknown role or bad fields, ``Conflict`` if taken.
    """
    email = normalise_email(email)
    check_password_rules(password)
    name = _check_name(name)
    roles = [r.strip() for r in roles if r.strip()]
    unknown = [r for r in roles if r not in STAFF_ROLES]
    if unknown or not roles:
        raise ValidationError(f"Roles must be among {', '.join(STAFF_ROLES)}.")
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise Conflict("An account with this e-mail already exists.")
    # Staff accounts are made by an admin or the operator's CLI: their address counts as
    # verified (rules: "E-mail").
    user = User(email=email, name=name, password_hash=hash_password(password),
                is_staff=True, roles=",".join(sorted(set(roles))), email_verified_at=now_utc())
    db.session.add(user)
    db.session.flush()
    audit(None, "staff.create", "user", user.id, None, {"email": email, "roles": user.roles})
    return user


#: A real hash to compare against when the e-mail is unknown, so timing does not tell.
_DUMMY_HASH = generate_password_hash("siso-dummy-password", method="scrypt")


def authenticate(email, password) -> User | None:
    """Return the user when e-mail and password match and the user may log in, else None.

    The same work is done whether or not the e-mail exists.
    """
    if not isinstance(email, str) or not isinstance(password, str):
        return None
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password):
        return None
    if not user.is_active:
        return None
    return user


class WrongPassword(DomainError):
    """The current password given to confirm a change is not the user's (401)."""

    status = 401
    code = "wrong_password"


def end_sessions(user: User, actor_id: int | None, reason: str) -> User:
    """End every session of ``user``: page sessions, sockets and login tokens.

    Bumps ``session_version``: session cookies carry it (``User.get_id``), login tokens
    store it, sockets re-check it on every event and are kicked after the commit. Staff
    API keys are not login tokens and stay until revoked. Audited with ``reason``.
    """
    user.session_version += 1
    from core.community.chat import kick_after_commit  # chat imports this module

    kick_after_commit(user.id, "You were logged out.")
    audit(actor_id, "user.sessions_end", "user", user.id, None, {"reason": reason})
    return user


def change_password(user: User, current, new) -> User:
    """Change the user's password after checking the current one; ends every session.

    Raises ``WrongPassword`` (current password wrong), ``ValidationError`` (new password
    too short, too long, common, or the same as the current one). The caller starts a
    fresh session for the device that made the change.
    """
    if not isinstance(current, str) or not check_password_hash(user.password_hash, current):
        raise WrongPassword("Your current password is not right.")
    check_password_rules(new)
    if check_password_hash(user.password_hash, new):
        raise ValidationError("Choose a new password that differs from the current one.")
    user.password_hash = hash_password(new)
    audit(user.id, "user.password_change", "user", user.id, None, None)
    end_sessions(user, user.id, "password change")
    return user


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User) -> tuple[str, ApiToken]:
    """Issue a bearer token; returns ``(token, row)``. Only the hash is stored."""
    token = secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, token_hash=_hash_token(token),
                   session_version=user.session_version,
                   expires_at=now_utc() + timedelta(seconds=current_app.config["API_TOKEN_TTL"]))
    db.session.add(row)
    return token, row


def user_for_token(token: str) -> User | None:
    """Return the user of a valid bearer token (not expired, revoked or outdated).

    A staff API key narrows the returned user's roles to the key's (``scoped_roles``).
    A login token dies with the session version (logout elsewhere, suspension, password
    change); an API key lives until it expires or is revoked, unless the owner loses
    staff status or is suspended.
    """
    if not isinstance(token, str) or not token or len(token) > 200:
        return None
    # The user and their partner row in the same query: every caller checks both (chat
    # connects of a whole population run this back to back).
    row = db.session.scalar(select(ApiToken).options(
        joinedload(ApiToken.user).joinedload(User.partner))
        .where(ApiToken.token_hash == _hash_token(token)))
    now = now_utc()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    user = row.user
    if not user.is_active:
        return None
    if row.kind == "key":
        if not user.is_staff:
            return None
        user.scoped_roles = frozenset(r for r in row.roles.split(",") if r)
        user.api_key = row
        if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
            row.last_used_at = now
            db.session.commit()
    elif row.session_version != user.session_version:
        return None
    return user


def key_grantable_roles(user: User) -> frozenset[str]:
    """The roles ``user`` may put on a new API key: every role for an admin, else their
    own; within the calling key's scope when the request came with a key."""
    own = frozenset(STAFF_ROLES) if "admin" in user.role_set else user.role_set
    if user.scoped_roles is None:
        return own
    scope = frozenset(STAFF_ROLES) if "admin" in user.scoped_roles else user.scoped_roles
    return own & scope


#: Longest life of a staff API key (days).
API_KEY_DAYS = 365


def create_api_key(user: User, name, roles) -> tuple[str, ApiToken]:
    """Create a long-lived staff API key with a subset of the caller's roles.

    The caller's roles are the user's own when they are logged in (page or login token),
    or the calling key's scope when the request itself came with a key
    (``user.api_key``): a key may create keys only when its scope holds ``admin`` (the
    role that manages keys), and never with a role outside that scope (rules: "API keys
    and scopes"). Returns ``(key, row)``; the key is shown once and only its hash is
    stored. Raises ``ValidationError`` (no name, unknown roles, roles not a subset),
    ``Forbidden`` (not staff, or a key without the ``admin`` scope).
    """
    if not user.is_staff:
        raise Forbidden("Only staff can create API keys.")
    calling_key = getattr(user, "api_key", None)
    if calling_key is not None and not user.has_role("admin"):
        raise Forbidden("This API key cannot create keys: only a key with the admin role "
                        "can. Log in to create one.", code="key_scope")
    if not isinstance(name, str) or not name.strip() or len(name) > 80:
        raise ValidationError("Name the key (up to 80 characters), e.g. 'HubSpot sync'.")
    if not isinstance(roles, list) or not roles or not all(isinstance(r, str) for r in roles):
        raise ValidationError("roles must be a non-empty list, e.g. [\"finance\"].")
    unknown = set(roles) - set(STAFF_ROLES)
    if unknown:
        raise ValidationError(f"Roles must be among {', '.join(STAFF_ROLES)}.")
    allowed = key_grantable_roles(user)
    extra = set(roles) - allowed
    if extra:
        where = "this API key's scope" if calling_key is not None else "your roles"
        raise ValidationError(f"A key cannot have roles outside {where}: "
                              f"{', '.join(sorted(extra))}.")
    token = "siso_" + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, token_hash=_hash_token(token), kind="key",
                   name=name.strip(), roles=",".join(sorted(set(roles))),
                   session_version=user.session_version,
                   expires_at=now_utc() + timedelta(days=API_KEY_DAYS))
    db.session.add(row)
    db.session.flush()
    audit(user.id, "api_key.create", "api_token", row.id, None,
          {"name": row.name, "roles": row.roles})
    return token, row


def revoke_api_key(user: User, key_id) -> ApiToken:
    """Revoke one of the user's API keys (admins: anyone's). Raises ``NotFound``."""
    row = get_row(ApiToken, key_id)
    if row is None or row.kind != "key" or (row.user_id != user.id and not user.has_role("admin")):
        raise NotFound("No such API key.")
    if getattr(user, "api_key", None) is not None and not user.has_role("admin"):
        raise Forbidden("This API key cannot revoke keys: only a key with the admin role "
                        "can.", code="key_scope")
    if row.revoked_at is None:
        row.revoked_at = now_utc()
        audit(user.id, "api_key.revoke", "api_token", row.id, None, {"name": row.name})
    return row










def set_staff_roles(user_id, roles, actor_id: int) -> User:
    """Change a staff member's roles (admin only, checked by the caller), audited; their
    other sessions and login tokens end (``session_version`` bump).

    Raises ``NotFound`` (not staff), ``ValidationError`` (unknown or no roles, or an admin
    removing their own admin role).
    """
    from core.base.extensions import get_row

    user = get_row(User, user_id)
    if user is None or not user.is_staff:
        raise NotFound("No such staff member.")
    if not isinstance(roles, list) or not roles or set(roles) - set(STAFF_ROLES):
        raise ValidationError(f"Choose one or more roles among {', '.join(STAFF_ROLES)}.")
    if user.id == actor_id and "admin" in user.role_set and "admin" not in roles:
        raise ValidationError("You cannot remove your own admin role; ask another admin.")
    before = user.roles
    user.roles = ",".join(sorted(set(roles)))
    if user.roles != before:
        user.session_version += 1
        from core.community.chat import kick_after_commit  # chat imports this module

        kick_after_commit(user.id, "You were logged out.")
        audit(actor_id, "staff.roles", "user", user.id, {"roles": before}, {"roles": user.roles})
    return user
