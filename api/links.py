"""The partner's campaign links and analytics (rules: "Links and attribution",
"Analytics")."""

from flask import Response, g, url_for

from api import api
from api.common import bearer, path_rows
from api.spec import operation
from core.base.extensions import db
from core.program import links
from core.program.schemas import (
    ANALYTICS_CSV,
    AnalyticsQuery,
    Link,
    LinkList,
    NewLink,
    PartnerAnalytics,
)


def _own_link(link_id: int):
    return links.partner_link(g.partner, link_id)


def _link(row) -> Link:
    data = {k: getattr(row, k) for k in Link.model_fields if hasattr(row, k)}
    data["url"] = url_for("portal.campaign_landing", code=g.partner.referral_code,
                          slug=row.slug, _external=True)
    return Link.model_validate(data)


@api.get("/partner/links")
@bearer()
@operation(200, LinkList)
def api_links():
    """Your live campaign links, newest first"""
    return LinkList(items=[_link(x) for x in links.partner_links(g.partner)])


@api.post("/partner/links")
@bearer()
@operation(201, Link, errors=(404, 409))
def api_link_create(json: NewLink):
    """Create a campaign link

    /r/<code>/<slug> to a published landing page (landing_page_id) or an allow-listed
    SISO address (target_url), with optional UTM values and sub-id; a landing page that
    is not published is 404. A slug you used
    before, even archived, is 409 slug_taken: links are never reused. Control characters,
    HTML characters or over-long values are 422."""
    row = links.create_link(g.partner, json.sent(), g.user.id)
    db.session.commit()
    return _link(row), 201


@api.delete("/partner/links/<int:link_id>")
@bearer()
@path_rows(link=_own_link)
@operation(200, Link)
def api_link_archive(link):
    """Archive a campaign link

    Its address answers 404 from now on; the slug stays yours and is never reused."""
    links.archive_link(link, g.user.id)
    db.session.commit()
    return _link(link)


@api.get("/partner/analytics")
@bearer()
@operation(200, PartnerAnalytics, errors=(404,))
def api_partner_analytics(query: AnalyticsQuery):
    """Your links' funnel

    Clicks, unique clicks, leads, won deals, revenue and commission (cents) with the
    conversion at each step, per period (group=day|week|month) and per link, between
    from and to (UTC days, both included; default the last 30 days). from after to, or
    a range over 2 years, is 422; a link that is not yours is 404."""
    from core.program import analytics

    sent = query.sent()
    start, end, group = analytics.parse_range(sent.get("from_"), sent.get("to"), query.group)
    data = analytics.partner_analytics(g.partner, start, end, group, sent.get("link"))
    return PartnerAnalytics.model_validate(data)


@api.get("/partner/analytics.csv")
@bearer()
@operation(200, None, content=ANALYTICS_CSV, errors=(404,))
def api_partner_analytics_csv(query: AnalyticsQuery):
    """Your links' funnel as CSV

    The same figures as GET /partner/analytics for the same from, to, group and link: a
    header (kind, period_or_link, clicks, unique_clicks, leads, won, revenue_cents,
    commission_cents), one row per period, one per link, then the totals. Link names that
    a spreadsheet would run as a formula start with '. Same 422 and 404 answers."""
    from core.program import analytics

    sent = query.sent()
    start, end, group = analytics.parse_range(sent.get("from_"), sent.get("to"), query.group)
    data = analytics.partner_analytics(g.partner, start, end, group, sent.get("link"))
    return Response(analytics.funnel_csv(data), mimetype="text/csv", headers={
        "Content-Disposition":
            f'attachment; filename="siso-link-analytics-{start:%Y%m%d}-{end:%Y%m%d}.csv"'})
