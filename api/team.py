"""A partner's team over the API: the team page's content, invitations by e-mail and,
for Performer+ leaders, the members' results by period."""

from flask import g

from api import api
from api.common import bearer
from api.spec import operation
from core.base.extensions import db
from core.base.mail import public_url
from core.program import team
from core.program.schemas import (
    Invited,
    PerformanceQuery,
    Team,
    TeamInvitation,
    TeamPerformance,
)


@api.get("/partner/team")
@bearer()
@operation(200, Team)
def api_team():
    """Your team

    The team chat entry point; for Performer+ leaders their members, their deals and the
    override earned."""
    overview = team.team_overview(g.partner)
    db.session.commit()  # the leader's team channel, created on first visit
    return Team.model_validate(overview)


@api.post("/partner/team/invite")
@bearer()
@operation(200, Invited, errors=(429,))
def api_team_invite(json: TeamInvitation):
    """Invite people to your team by e-mail

    Each address gets an e-mail with your recruiting link, once in 30 days whoever asks
    (invited_recently otherwise); at most 20 addresses a day (429 invite_limit, nothing
    sent). For Performer+ partners with a verified address (403 team_locked or
    email_unverified). A bad address refuses the whole list (422)."""
    results = team.invite_to_team(g.partner, g.user.id, json.emails)
    db.session.commit()
    return Invited(items=results, recruiting_url=public_url(team.recruiting_path(g.partner)))


@api.get("/partner/team/performance")
@bearer()
@operation(200, TeamPerformance)
def api_team_performance(query: PerformanceQuery):
    """Your team's results by period

    For Performer+ leaders (403 team_locked otherwise): each member's confirmed deals,
    their value, the member's commission and your override from them, by calendar month,
    quarter or year (UTC), newest first."""
    return TeamPerformance.model_validate(
        team.team_performance(g.partner, query.period, query.count))
