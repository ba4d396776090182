"""Portal pages for training and support tickets, and their JSON API."""

from flask import flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from core.base.errors import DomainError
from core.base.extensions import db
from core.community.challenges import active_challenges, progress_for
from core.content import training
from core.support import tickets as support
from core.support.models import TICKET_CATEGORIES, TICKET_PRIORITIES
from portal import bp
from portal.views import partner_page


class TicketForm(FlaskForm):
    """A new support ticket."""

    subject = StringField("Subject", validators=[DataRequired(), Length(max=200)])
    category = SelectField("Category", choices=[SelectChoice(c, c.capitalize())
                                                for c in TICKET_CATEGORIES])
    priority = SelectField("Priority", choices=[SelectChoice(p, p.capitalize())
                                                for p in TICKET_PRIORITIES], default="medium")
    body = TextAreaField("How can we help?", validators=[DataRequired(), Length(max=5000)])


class ReplyForm(FlaskForm):
    body = TextAreaField("Reply", validators=[DataRequired(), Length(max=5000)])


@bp.route("/partner/support", methods=["GET", "POST"])
@partner_page(active=False)
def support_page():
    """The partner's tickets and a form to open one."""
    form = TicketForm()
    if form.validate_on_submit():
        try:
            ticket = support.open_ticket(g.partner, form.subject.data, form.body.data,
                                         form.category.data, form.priority.data)
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            from portal.views import local_time

            when = local_time(ticket.respond_by, "%d %b %H:%M %Z") if ticket.respond_by else ""
            flash(f"Ticket opened. We answer by {when}." if when else "Ticket opened.",
                  "success")
            return redirect(url_for("portal.ticket_page", ticket_id=ticket.id))
    return render_template("portal/support.html", form=form,
                           tickets=support.partner_tickets(g.partner)), \
        (422 if request.method == "POST" else 200)


@bp.route("/partner/support/<int:ticket_id>", methods=["GET", "POST"])
@partner_page(active=False)
def ticket_page(ticket_id: int):
    """One ticket with its public messages and a reply box."""
    ticket = support.get_ticket_for(current_user, ticket_id)
    form = ReplyForm()
    if form.validate_on_submit():
        try:
            support.reply(current_user, ticket, form.body.data)
            db.session.commit()
            return redirect(url_for("portal.ticket_page", ticket_id=ticket.id))
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
    return render_template("portal/ticket.html", ticket=ticket, form=form,
                           messages=support.visible_messages(current_user, ticket))


@bp.get("/partner/training")
@partner_page(active=False)
def training_page():
    """Modules by channel; locked ones show the tier that unlocks them."""
    rows = training.modules_for(g.partner)
    done = sum(r["completed"] for r in rows)
    channels = {}
    for r in rows:
        channels.setdefault(r["module"].channel, []).append(r)
    return render_template("portal/training.html", channels=channels, done=done, total=len(rows))


@bp.route("/partner/training/<int:module_id>", methods=["GET", "POST"])
@partner_page(active=False)
def module_page(module_id: int):
    """A module's content and its quiz; submitting grades it against the pass mark."""
    module = training.get_module_for(g.partner, module_id)
    qs = training.questions(module)
    form = FlaskForm()
    result = None
    if form.validate_on_submit():
        answers = {q.id: request.form.get(f"q{q.id}") for q in qs}
        try:
            result = training.submit(g.partner, module, answers)
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            if result["passed"]:
                flash("Module complete." + (f" Score {result['score_percent']}%."
                                            if result["score_percent"] is not None else ""),
                      "success")
    return render_template("portal/module.html", module=module, questions=qs, form=form,
                           result=result, body_html=training.render_module_body(module.body))


# --- API (training, leaderboard) -----------------------------------------------------













# --- leaderboard, tier progression ----------------------------------------------------

def _board_args():
    from core.community.leaderboard import METRICS, PERIODS

    period = request.args.get("period", "month")
    metric = request.args.get("metric", "deals")
    tier = request.args.get("tier") or None
    if period not in PERIODS:
        period = "month"
    if metric not in METRICS:
        metric = "deals"
    if tier not in (None, "starter", "active", "performer", "elite"):
        tier = None
    return period, metric, tier


@bp.get("/partner/leaderboard")
@partner_page()
def leaderboard_page():
    """Top 10 and your own rank, this month or all time, by deals or revenue; challenges."""
    from core.community.leaderboard import leaderboard

    period, metric, tier = _board_args()
    board = leaderboard(period, metric, tier, me=g.partner.id)
    challenges = [(c, progress_for(c, g.partner.id)) for c in active_challenges()]
    from core.community.achievements import BADGES_BY_KEY

    return render_template("portal/leaderboard.html", board=board, tier=tier,
                           challenges=challenges, badge_info=BADGES_BY_KEY)




@bp.get("/partner/tier-progression")
@partner_page(active=False)
def tier_progression_page():
    """Requirements checklist, next tier's benefits, and the partner's tier history."""
    from sqlalchemy import select

    from core.base.models import AuditLog
    from core.program.tiers import all_tiers, tier_status

    history = db.session.scalars(select(AuditLog).where(
        AuditLog.object_type == "partner", AuditLog.object_id == g.partner.id,
        AuditLog.action.in_(("tier.promote", "tier.demote", "tier.override",
                             "tier.override_cleared"))).order_by(AuditLog.id.desc())).all()
    names = {t.key: t.name for t in all_tiers()}
    return render_template("portal/tier_progression.html", status=tier_status(g.partner),
                           history=[tier_change(h, names) for h in history],
                           since=g.partner.tier_since)


#: How a tier change reads in the partner's history, by audit action.
_TIER_CHANGE_WORDS = {"tier.promote": "Promoted to {after}", "tier.demote": "Moved to {after}",
                      "tier.override": "Staff set your terms: {after}",
                      "tier.override_cleared": "Staff terms ended: back to {after}"}


def tier_change(row, names: dict) -> dict:
    """One history line from a tier audit row: ``{"at", "text"}`` naming the tiers
    ("Promoted to Active (from Starter)")."""
    import json

    def tier_of(raw: str) -> str:
        try:
            key = (json.loads(raw or "{}") or {}).get("tier")
        except (ValueError, AttributeError):
            key = None
        return names.get(key, key or "")

    before, after = tier_of(row.before), tier_of(row.after)
    text = _TIER_CHANGE_WORDS[row.action].format(after=after or "your tier")
    if before and before != after:
        text += f" (from {before})"
    return {"at": row.created_at, "text": text}
