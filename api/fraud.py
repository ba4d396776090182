"""The staff fraud review queue (rules: "Fraud rules") and program analytics (rules:
"Analytics")."""

from flask import Response, g

from api import api
from api.common import bearer
from api.spec import operation
from core.base.extensions import db
from core.program import fraud
from core.program.schemas import (
    ANALYTICS_CSV,
    FraudDecision,
    FraudFlagOut,
    FraudFlagPage,
    FraudFlagQuery,
    ProgramAnalytics,
    ProgramQuery,
)


@api.get("/staff/fraud/flags")
@bearer("staff", roles=("admin", "finance"))
@operation(200, FraudFlagPage)
def api_staff_fraud_flags(query: FraudFlagQuery):
    """Open fraud flags, oldest first

    Each with its rule, the partner, the lead (or the link, for click spam) and the
    evidence. A lead with an open flag cannot be confirmed until an admin decides."""
    sent = query.sent()
    rows = fraud.open_flags(query.limit + 1, sent.get("after"))
    nxt = rows[query.limit - 1].id if len(rows) > query.limit else None
    return FraudFlagPage(items=[FraudFlagOut.of(f) for f in rows[:query.limit]],
                         next_cursor=nxt)


@api.post("/staff/fraud/flags/<int:flag_id>/decide")
@bearer("staff", roles=("admin",))
@operation(200, FraudFlagOut, errors=(409,))
def api_staff_fraud_decide(flag_id: int, json: FraudDecision):
    """Decide a fraud flag (admin)

    dismiss: the lead may be confirmed (when no other flag holds it); reject: it never
    is, and the partner sees the reason (required). Audited; 409 when already decided."""
    flag = fraud.decide(flag_id, json.decision, json.reason, g.user.id)
    db.session.commit()
    return FraudFlagOut.of(flag)


@api.get("/staff/analytics/program")
@bearer("staff", roles=("admin", "finance"))
@operation(200, ProgramAnalytics)
def api_staff_program_analytics(query: ProgramQuery):
    """Program analytics

    Revenue and commission by month, active partners and activation rate (approved
    partners with a lead within 30 days), revenue per partner, ROI (revenue ÷ commission
    paid, bps), top partners, tiers, industries, links, landing pages, cohorts by
    approval month and the open pipeline by stage. from after to, or over 2 years: 422."""
    from core.program import program_analytics as pa

    sent = query.sent()
    start, end = pa.parse_range(sent.get("from_"), sent.get("to"))
    return ProgramAnalytics.model_validate(pa.program_analytics(start, end))


@api.get("/staff/analytics/program.csv")
@bearer("staff", roles=("admin", "finance"))
@operation(200, None, content=ANALYTICS_CSV)
def api_staff_program_analytics_csv(query: ProgramQuery):
    """Program analytics as CSV

    The same figures as GET /staff/analytics/program for the same from and to, in
    sections (columns section, key, a, b, c): month (revenue, commission), partner (top
    partners: revenue, commission paid, ROI bps), cohort (approved, activated, revenue),
    pipeline (leads, value), then total (revenue, commission, commission paid); cents."""
    from core.program import program_analytics as pa

    sent = query.sent()
    start, end = pa.parse_range(sent.get("from_"), sent.get("to"))
    return Response(pa.program_csv(pa.program_analytics(start, end)), mimetype="text/csv",
                    headers={"Content-Disposition":
                             f'attachment; filename="siso-program-{start:%Y%m%d}-{end:%Y%m%d}.csv"'})
