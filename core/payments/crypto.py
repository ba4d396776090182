"""Encrypted fields: TINs and bank numbers at rest (rules: "Encrypted fields").

cryptography's ``MultiFernet`` over the keys of ``FIELD_ENCRYPTION_KEYS`` (newest first):
new values are encrypted with the first key, any listed key decrypts, and
:func:`rotate_all` re-encrypts every stored value with the newest key so an old key can
then be removed. The plain value is never logged, audited or put in an error message;
callers keep only a masked form (:func:`last4`) beside the token.
"""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app

from core.base.errors import DomainError


def _fernet() -> MultiFernet:
    keys = current_app.config.get("FIELD_ENCRYPTION_KEYS") or ()
    if isinstance(keys, str):
        keys = tuple(k.strip() for k in keys.split(",") if k.strip())
    if not keys:
        raise RuntimeError("FIELD_ENCRYPTION_KEYS is not set.")
    return MultiFernet([Fernet(k.encode() if isinstance(k, str) else k) for k in keys])


def encrypt(plain: str) -> str:
    """Encrypt ``plain`` (text) with the newest key; returns the Fernet token as text
    (``""`` for an empty value)."""
    if not plain:
        return ""
    return _fernet().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    """The plain text of a token made by :func:`encrypt` with any configured key
    (``""`` for ``""``). Raises ``DomainError`` (500 ``key_missing``) when no configured
    key opens it (a key was removed before :func:`rotate_all` ran)."""
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise DomainError("A stored value cannot be decrypted with the configured keys "
                          "(FIELD_ENCRYPTION_KEYS).", code="key_missing", status=500) from None


def rotate(token: str) -> str:
    """The token re-encrypted with the newest key (``""`` stays ``""``)."""
    if not token:
        return ""
    return _fernet().rotate(token.encode()).decode()


def last4(plain: str) -> str:
    """The last four letters or digits of a number, for display (``"6789"``)."""
    chars = [c for c in plain or "" if c.isalnum()]
    return "".join(chars[-4:])


def rotate_all() -> int:
    """Re-encrypt every encrypted column of payout methods and tax forms with the newest
    key, in the caller's transaction. Returns the number of values rewritten."""
    from core.base.extensions import db
    from core.payments.models import ENCRYPTED_COLUMNS

    done = 0
    for model, columns in ENCRYPTED_COLUMNS:
        for row in db.session.scalars(db.select(model)):
            for col in columns:
                token = getattr(row, col)
                if token:
                    setattr(row, col, rotate(token))
                    done += 1
    return done
