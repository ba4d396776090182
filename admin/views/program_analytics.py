"""Program analytics for admin and finance: the figures, a monthly chart, CSV (rules:
"Analytics")."""

from flask import make_response, request
from flask_admin import expose

from admin.views.base import StaffView
from core.base.errors import DomainError
from core.program import program_analytics as pa


class ProgramAnalyticsView(StaffView):
    """Revenue and commission by month (inline SVG with a table), partners, ROI, top
    partners, tiers, industries, links, landing pages, cohorts, pipeline; CSV."""

    roles = ("finance",)

    def _data(self):
        start, end = pa.parse_range(request.args.get("from") or None,
                                    request.args.get("to") or None)
        return pa.program_analytics(start, end)

    @expose("/")
    def index(self):
        try:
            data, error, status = self._data(), None, 200
        except DomainError as exc:
            start, end = pa.parse_range(None, None)
            data, error, status = pa.program_analytics(start, end), exc.message, exc.status
        top = max([m["revenue_cents"] for m in data["months"]] + [1])
        bars = [{"x": i * 30 + 5, "h": round(m["revenue_cents"] * 110 / top, 1),
                 "label": m["month"].strftime("%b")} for i, m in enumerate(data["months"])]
        return self.render("admin/program_analytics.html", data=data, bars=bars,
                           error=error), status

    @expose("/csv")
    def csv(self):
        try:
            data = self._data()
        except DomainError as exc:
            return make_response(exc.message, exc.status, {"Content-Type": "text/plain"})
        resp = make_response(pa.program_csv(data))
        resp.headers["Content-Type"] = "text/csv; charset=utf-8"
        resp.headers["Content-Disposition"] = (
            f"attachment; filename=siso-program-{data['from']}-{data['to']}.csv")
        return resp
