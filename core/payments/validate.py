"""Checks of numbers a person types: TINs, IBANs, US routing numbers, PayPal receivers,
dates (rules: "Payout methods", "Tax forms"). Each raises ``ValidationError`` (422)
naming the field and never repeats the number it refused.

Check digits come from python-stdnum (``us.ssn``, ``us.ein``, ``us.itin``, ``iban``,
``us.rtn``); addresses from email-validator.
"""

import re
from datetime import date

from core.base.errors import ValidationError


def _fail(field: str, message: str):
    raise ValidationError(f"{field}: {message}", code="validation_error")


def text(data: dict, field: str, max_len: int = 200, required: bool = True) -> str:
    """``data[field]`` stripped (text, at most ``max_len`` characters)."""
    value = data.get(field)
    if value is None or value == "":
        if required:
            _fail(field, "this is required.")
        return ""
    if not isinstance(value, str):
        _fail(field, "must be text.")
    value = value.strip()
    if required and not value:
        _fail(field, "this is required.")
    if len(value) > max_len:
        _fail(field, f"must be at most {max_len} characters.")
    return value


def us_tin(value: str, kind: str, field: str = "tin") -> str:
    """A US SSN, EIN or ITIN (``kind``) in its compact digits; wrong length, group or
    check refused."""
    from stdnum.exceptions import ValidationError as StdnumError
    from stdnum.us import ein, itin, ssn

    module = {"ssn": ssn, "ein": ein, "itin": itin}.get(kind)
    if module is None:
        _fail("tin_type", "must be ssn, ein or itin.")
    try:
        return module.validate(value or "")
    except StdnumError:
        _fail(field, f"is not a valid {kind.upper()}.")


def foreign_tin(value: str, field: str = "foreign_tin") -> str:
    """A foreign TIN: 4 to 30 letters, digits, spaces, dots, dashes or slashes (countries'
    formats differ too much for one check); returned without the separators."""
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9 ./-]{4,30}", value.strip()):
        _fail(field, "must be 4 to 30 letters or digits.")
    return re.sub(r"[ ./-]", "", value.strip()).upper()


def iban(value: str, field: str = "iban") -> str:
    """An IBAN in compact form; country format and check digits checked."""
    from stdnum import iban as stdiban
    from stdnum.exceptions import ValidationError as StdnumError

    try:
        return stdiban.validate(value or "")
    except StdnumError:
        _fail(field, "is not a valid IBAN (check the digits).")


def routing_number(value: str, field: str = "routing_number") -> str:
    """A US ABA routing number (9 digits with its check digit)."""
    from stdnum.exceptions import ValidationError as StdnumError
    from stdnum.us import rtn

    try:
        return rtn.validate(value or "")
    except StdnumError:
        _fail(field, "is not a valid US routing number.")


def account_number(value: str, field: str = "account_number") -> str:
    """A US bank account number: 4 to 17 digits."""
    compact = re.sub(r"[ -]", "", value or "") if isinstance(value, str) else ""
    if not re.fullmatch(r"\d{4,17}", compact):
        _fail(field, "must be 4 to 17 digits.")
    return compact


def paypal_receiver(value: str, field: str = "paypal") -> tuple[str, str]:
    """A PayPal e-mail address or payer id (13 capital letters and digits); returns
    ``(receiver, recipient_type)`` with type ``EMAIL`` or ``PAYPAL_ID``."""
    from email_validator import EmailNotValidError, validate_email

    value = value.strip() if isinstance(value, str) else ""
    if re.fullmatch(r"[A-Z0-9]{13}", value):
        return value, "PAYPAL_ID"
    try:
        checked = validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        _fail(field, "must be your PayPal e-mail address or PayPal payer id.")
    return checked.normalized, "EMAIL"


def past_date(data: dict, field: str, required: bool = True) -> date | None:
    """``data[field]`` as an ISO date (``YYYY-MM-DD``) not in the future (UTC)."""
    from core.base.timeutil import now_utc

    value = data.get(field)
    if value in (None, ""):
        if required:
            _fail(field, "this is required (YYYY-MM-DD).")
        return None
    if isinstance(value, date):
        day = value
    else:
        try:
            day = date.fromisoformat(value) if isinstance(value, str) and \
                re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) else None
        except ValueError:
            day = None
        if day is None:
            _fail(field, "must be a date written YYYY-MM-DD.")
    if day > now_utc().date():
        _fail(field, "cannot be in the future.")
    if day.year < 1900:
        _fail(field, "is too far in the past.")
    return day


def country(data: dict, field: str) -> str:
    """``data[field]`` as a two-letter ISO country code (upper case)."""
    value = text(data, field, 2)
    if not re.fullmatch(r"[A-Za-z]{2}", value):
        _fail(field, "must be a two-letter country code (ISO 3166, e.g. DE).")
    return value.upper()
