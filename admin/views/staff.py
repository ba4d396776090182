"""Staff accounts (admin) and the password re-check for sensitive actions."""

import time

from flask import flash, redirect, request, session, url_for
from flask_admin import expose
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import PasswordField, SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from admin.views.base import StaffModelView, StaffView, needs_reauth, refuse, run_domain, staff_with
from core.accounts import users as accounts
from core.accounts.models import STAFF_ROLES, User
from core.base.errors import NotFound
from core.base.extensions import db
from web.redirects import safe_next


class PasswordForm(FlaskForm):
    password = PasswordField("Your password", validators=[DataRequired(), Length(max=200)])


class ReauthView(StaffView):
    """Asks a staff member for their password again before a sensitive action."""

    def is_visible(self):
        return False

    roles = ()

    @expose("/", methods=["GET", "POST"])
    def index(self):
        form = PasswordForm()
        target = safe_next(request.args.get("next"), "/admin/")
        if form.validate_on_submit():
            if accounts.authenticate(current_user.email, form.password.data) is not None:
                session["auth_at"] = int(time.time())
                flash("Thanks. You can go on.", "success")
                return redirect(target)
            form.password.errors = ["That is not your password."]
        return self.render("admin/simple_form.html", form=form, title="Confirm your password",
                           submit="Confirm"), (401 if request.method == "POST" else 200)


class RolesForm(FlaskForm):
    roles = SelectMultipleField("Roles", choices=[SelectChoice(r, r.capitalize())
                                                  for r in STAFF_ROLES],
                                widget=ListWidget(prefix_label=False),
                                option_widget=CheckboxInput())


class StaffView(StaffModelView):
    """Staff accounts and their roles (admin only; role changes re-check the password)."""

    roles = ("admin",)
    column_list = ("id", "name", "email", "roles", "created_at", "edit")
    column_searchable_list = ("name", "email")
    column_labels = {"edit": ""}

    def is_accessible(self):
        return staff_with("admin")

    def get_query(self):
        return super().get_query().filter(User.is_staff.is_(True))

    def get_count_query(self):
        return super().get_count_query().filter(User.is_staff.is_(True))

    def _edit(view, context, model, name):
        return Markup('<a class="btn btn-sm btn-primary" href="{}">Roles</a>').format(
            url_for("staff.roles_page", user_id=model.id))

    column_formatters = {"edit": _edit}

    @expose("/roles/<int:user_id>", methods=["GET", "POST"])
    def roles_page(self, user_id: int):
        if not staff_with("admin"):
            return refuse()
        if (r := needs_reauth()) is not None:
            return r
        user = db.session.get(User, user_id)
        if user is None or not user.is_staff:
            raise NotFound("No such staff member.")
        form = RolesForm(roles=sorted(user.role_set))
        if form.validate_on_submit():
            if run_domain(lambda: accounts.set_staff_roles(user.id, form.roles.data,
                                                           current_user.id),
                          f"Roles of {user.email} saved; their other sessions ended."
                          ) is not None:
                return redirect(url_for("staff.index_view"))
        return self.render("admin/simple_form.html", form=form,
                           title=f"Roles of {user.name} ({user.email})", submit="Save roles")
