"""The secured base classes: every admin view checks a staff role on the server."""

from datetime import datetime

from flask import abort, flash, redirect, request, url_for
from flask_admin import AdminIndexView, BaseView, expose
from flask_admin.contrib.sqla import ModelView
from flask_admin.model import typefmt
from flask_login import current_user

from core.base.errors import DomainError
from core.base.extensions import db


def staff_with(*roles: str) -> bool:
    """True when the current user is staff holding ``admin`` or one of ``roles``
    (no roles given: any staff)."""
    if not current_user.is_authenticated or not current_user.is_staff:
        return False
    return current_user.has_role(*roles) if roles else True


def refuse():
    """Anonymous → login page; logged-in non-staff or wrong role → 403."""
    if not current_user.is_authenticated:
        return redirect(url_for("portal.login", next=request.full_path.rstrip("?")))
    abort(403)


def run_domain(fn, success: str | None = None):
    """Run a core operation from a staff screen: commit on success, flash its refusal."""
    try:
        result = fn()
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return None
    if success:
        flash(success, "success")
    return result


def percent(view, context, model, name) -> str:
    """List formatter: a basis-point column as a percentage (2750 → "27.5%")."""
    from core.money.cents import format_bps

    value = getattr(model, name)
    return "" if value is None else format_bps(value)


def _utc(view, value, name=None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


class StaffView(BaseView):
    """Base for a back-office page that is not a model list: staff holding ``admin`` or one
    of ``roles`` (none given: any staff) open it; anyone else gets the refusal."""

    #: Roles allowed to open the view (admin always can).
    roles: tuple[str, ...] = ()

    def is_accessible(self) -> bool:
        return staff_with(*self.roles)

    def inaccessible_callback(self, name, **kwargs):
        return refuse()


class StaffModelView(ModelView):
    """Base for every model screen: read-only by default, role-checked, paginated."""

    #: Roles allowed to open the view (admin always can).
    roles: tuple[str, ...] = ()
    can_create = False
    can_edit = False
    can_delete = False
    can_view_details = True
    page_size = 50
    can_set_page_size = True
    #: Filter arguments by name (``flt1_status_equals=requested``), so links into a
    #: filtered list (dashboard, queues) stay valid when filters are added.
    named_filter_urls = True
    column_type_formatters = {**typefmt.BASE_FORMATTERS, datetime: _utc}
    column_type_formatters_detail = {**typefmt.DETAIL_FORMATTERS, datetime: _utc}

    #: Loader options for the list query, so related names load with the rows (no N+1).
    list_options: tuple = ()
    #: Secrets no screen shows, whatever the model (password and token hashes).
    column_details_exclude_list = ("password_hash", "token_hash", "session_version",
                                   "totp_secret", "totp_last_step")
    column_exclude_list = ("password_hash", "token_hash", "session_version", "totp_secret",
                           "totp_last_step")

    def is_accessible(self) -> bool:
        return staff_with(*self.roles)

    def inaccessible_callback(self, name, **kwargs):
        return refuse()

    #: Highest page number a list accepts; a larger one shows the last pages' emptiness
    #: instead of asking the database for an offset it cannot hold.
    MAX_PAGE = 100_000

    def _get_list_extra_args(self):
        """The list's query-string arguments with absurd numbers brought into range:
        ``page`` 0..``MAX_PAGE``, ``page_size`` at most the largest offered, ``sort`` a
        column index or none (rules: "Bad input")."""
        args = super()._get_list_extra_args()
        args.page = min(max(args.page or 0, 0), self.MAX_PAGE)
        largest = max(self.page_size_options or (self.page_size,))
        args.page_size = min(max(args.page_size or 0, 0), largest)
        if args.sort is not None and not 0 <= args.sort < 1000:
            args.sort = None
        return args

    def get_query(self):
        query = super().get_query()
        return query.options(*self.list_options) if self.list_options else query


class DashboardView(AdminIndexView):
    """Back-office home: the figures staff look at first."""

    def is_accessible(self) -> bool:
        return staff_with()

    def inaccessible_callback(self, name, **kwargs):
        return refuse()

    @expose("/")
    def index(self):
        from core.program.backoffice import TICKET_AGES, dashboard_figures

        return self.render("admin/dashboard.html", d=dashboard_figures(),
                           ticket_ages=TICKET_AGES)


#: Seconds after which a sensitive action asks for the password again (15 minutes).
REAUTH_SECONDS = 15 * 60


def needs_reauth():
    """A redirect to the password prompt when the login is older than 15 minutes, else
    ``None``. Used before payout approval, tier/rate overrides and staff role changes."""
    import time

    from flask import session

    if time.time() - session.get("auth_at", 0) <= REAUTH_SECONDS:
        return None
    flash("For this action, confirm your password first.", "info")
    from urllib.parse import urlsplit

    from web.redirects import safe_next

    target = request.full_path.rstrip("?")
    if request.method == "POST":  # come back to the page the form was on
        ref = urlsplit(request.referrer or "")
        target = (ref.path + (f"?{ref.query}" if ref.query else "")) \
            if ref.netloc == request.host else "/admin/"

    return redirect(url_for("reauth.index", next=safe_next(target, "/admin/")))
