"""Staff two-factor authentication: TOTP (RFC 6238) with pyotp (rules: "Sessions and log-in").

Staff holding a role in ``TOTP_REQUIRED_ROLES`` (admin and finance) must set it up
before their first session; any staff member who has set it up is asked for a code at
every log-in. A code is accepted once (the last step used is stored) and within one
30-second step of the server clock either side.
"""

import datetime
import io
import time

import pyotp
import qrcode
import qrcode.image.svg
from flask import current_app

from core.accounts.models import User
from core.base.audit import audit
from core.base.errors import DomainError, ValidationError

ISSUER = "SISO Partners"


class WrongCode(DomainError):
    """The two-factor code is wrong, expired or already used (401)."""

    status = 401
    code = "wrong_otp"


def required_for(user: User) -> bool:
    """True when ``user`` must use two-factor: staff with a role in
    ``TOTP_REQUIRED_ROLES``, or any staff member who has set it up."""
    if not user.is_staff:
        return False
    if user.totp_secret:
        return True
    return bool(user.role_set & set(current_app.config["TOTP_REQUIRED_ROLES"]))


def new_secret() -> str:
    """A new random base32 secret (160 bits)."""
    return pyotp.random_base32(32)


def provisioning_uri(user: User, secret: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads (from the QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The URI as an inline SVG QR code (no JavaScript, no external service)."""
    img = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buf = io.BytesIO()
    img.save(buf)
    return buf.getvalue().decode()


def _matching_step(secret: str, code, at: float | None = None) -> int | None:
    if not isinstance(code, str):
        return None
    code = code.replace(" ", "").strip()
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    now = totp.timecode(_now(at))
    for step in (now, now - 1, now + 1):
        if pyotp.utils.strings_equal(totp.generate_otp(step), code):
            return step
    return None


def _now(at: float | None) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(time.time() if at is None else at,
                                           tz=datetime.UTC)


def verify(user: User, code, at: float | None = None) -> None:
    """Accept ``code`` for the user's secret once; raises ``WrongCode`` otherwise."""
    step = _matching_step(user.totp_secret or "", code, at) if user.totp_secret else None
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        raise WrongCode("That code is not right or was already used. Enter the current "
                        "6-digit code from your authenticator app.")
    user.totp_last_step = step


def enable(user: User, secret, code, at: float | None = None) -> User:
    """Turn two-factor on with ``secret`` once ``code`` proves the app has it.

    Raises ``ValidationError`` (bad secret) or ``WrongCode``.
    """
    if not isinstance(secret, str) or len(secret) < 16 or len(secret) > 64:
        raise ValidationError("Start the two-factor setup again.")
    if _matching_step(secret, code, at) is None:
        raise WrongCode("That code does not match. Scan the QR code again and enter the "
                        "6-digit code your app shows now.")
    user.totp_secret = secret
    user.totp_last_step = _matching_step(secret, code, at)
    audit(user.id, "user.totp_enable", "user", user.id, None, None)
    return user
