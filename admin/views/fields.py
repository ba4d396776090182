"""Form fields the back office needs beyond Flask-Admin's own."""

from flask_admin.contrib.sqla.fields import QuerySelectField
from wtforms import StringField
from wtforms.fields.choices import Choice
from wtforms.validators import DataRequired, Length

from core.base.extensions import get_row
from core.program import partners
from core.program.models import Partner


class ChoiceQuerySelectField(QuerySelectField):
    """Flask-Admin's ``QuerySelectField`` (a select over ORM rows) yielding WTForms'
    ``Choice`` objects: Flask-Admin 2.2 yields plain tuples, which WTForms 3.3 deprecates
    (and the test suite turns deprecations into errors).

    Subclasses set ``query_factory`` (a callable returning a query of the rows to offer)
    and may set ``label_attr`` (the row attribute shown; default ``str(row)``)."""

    query_factory = None
    label_attr = None

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("query_factory", type(self).query_factory)
        if self.label_attr:
            kwargs.setdefault("get_label", self.label_attr)
        super().__init__(label, validators, **kwargs)

    def iter_choices(self):
        """``Choice(value, label, selected, render_kw)`` for the blank option (when
        allowed) and each row."""
        if self.allow_blank:
            yield Choice("__None", self.blank_text, self.data is None, {})
        for pk, obj in self._get_object_list():
            yield Choice(pk, self.get_label(obj), obj == self.data, {})


def partner_field(label: str = "Partner", required: bool = True) -> StringField:
    """A partner picker: a text box with suggestions from ``/admin/partner-lookup/``
    (static/js/admin-partner-picker.js) that accepts what the suggestions fill in
    (``"Ana Silva (#1042)"``), a partner number, or text naming one partner; the view
    turns it into an id with ``core.program.partners.resolve_partner``."""
    return StringField(label, validators=([DataRequired()] if required else []) + [Length(max=200)],
                       render_kw={"list": "partner-options", "autocomplete": "off",
                                  "data-partner-search": "/admin/partner-lookup/",
                                  "placeholder": "Name, e-mail, company, code or #number",
                                  "maxlength": 200})


def partner_text(partner_id) -> str:
    """The picker's text for a partner id from a link (``?partner_id=``), or ``""``."""
    p = get_row(Partner, partner_id) if partner_id else None
    return partners.partner_label(p) if p is not None else ""



class PercentField(StringField):
    """A rate typed as a percentage (``27.5``, ``27.5 %``) and kept in basis points
    (``data`` 2750), shown back as a percentage. Accepts 0-100 with at most two
    decimals; anything else is a field error."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("render_kw", {"inputmode": "decimal"})
        super().__init__(label, validators, **kwargs)

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        return f"{self.data / 100:.2f}".rstrip("0").rstrip(".")

    def process_formdata(self, valuelist):
        from decimal import Decimal, InvalidOperation

        if not valuelist:
            return
        text = (valuelist[0] or "").strip().rstrip("%").strip()
        self.data = None
        if not text:
            return
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise ValueError("Give a percentage such as 27.5.") from None
        bps = value * 100
        if not value.is_finite() or bps != bps.to_integral_value() or not 0 <= value <= 100:
            raise ValueError("Give a percentage from 0 to 100, at most two decimals.")
        self.data = int(bps)
