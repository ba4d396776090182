"""Form fields the back office needs beyond Flask-Admin's own."""

from flask_admin.contrib.sqla.fields import QuerySelectField
from wtforms.fields.choices import Choice


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
