"""Staff back office on Flask-Admin, by role (rules: "Staff roles")."""

from flask import Flask
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme


def init_app(app: Flask) -> None:
    """Mount ``/admin`` with one secured base view class for every screen."""
    from admin.views import register_views
    from admin.views.base import DashboardView
    from web.security import csp_nonce

    admin = Admin(app, name="SISO Back Office", url="/admin",
                  theme=Bootstrap4Theme(swatch="flatly", fluid=True),
                  index_view=DashboardView(name="Dashboard", url="/admin"),
                  csp_nonce_generator=csp_nonce)
    register_views(admin)
    from flask_admin.menu import MenuLink

    admin.add_link(MenuLink(name="Change password", url="/account/password"))
    admin.add_link(MenuLink(name="Log out", url="/logout"))
