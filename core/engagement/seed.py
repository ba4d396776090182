"""Reference data of engagement: the XP rules at their defaults, the level names and the
badge catalogue (rules: "XP, levels and streaks", "Badges"). Staff change all of it in the
back office; seeding only adds what is missing."""

from sqlalchemy import select

from core.base.extensions import db
from core.engagement.models import Badge, Level, XpRule
from core.engagement.xp import XP_ACTIONS

#: Level names and the XP they start at.
SEED_LEVELS = (("Rookie", 0), ("Explorer", 100), ("Hustler", 300), ("Closer", 750),
               ("Pro", 1500), ("Expert", 3000), ("Champion", 6000), ("Legend", 12000))


def _b(category, key, name, icon, rule, metric, threshold, description, days=None):
    return {"category": category, "key": key, "name": name, "icon": icon, "rule": rule,
            "metric": metric, "threshold": threshold, "days": days,
            "description": description}


#: The seeded catalogue: 65 badges across selling, learning, community and teams.
SEED_BADGES = (
    # selling: leads, pipeline, deals, revenue, speed and monthly ranks
    _b("selling", "first_lead", "First Lead", "✎", "count", "leads_logged", 1,
       "Log your first lead."),
    _b("selling", "leads_10", "Prospector", "⌕", "count", "leads_logged", 10,
       "Log 10 leads."),
    _b("selling", "leads_50", "Pipeline Builder", "⚒", "count", "leads_logged", 50,
       "Log 50 leads."),
    _b("selling", "leads_100", "Lead Machine", "⚙", "count", "leads_logged", 100,
       "Log 100 leads."),
    _b("selling", "leads_250", "Lead Legend", "✪", "count", "leads_logged", 250,
       "Log 250 leads."),
    _b("selling", "moves_10", "Mover", "➜", "count", "stages_moved", 10,
       "Move leads forward 10 times."),
    _b("selling", "moves_50", "Pipeline Pilot", "✈", "count", "stages_moved", 50,
       "Move leads forward 50 times."),
    _b("selling", "moves_200", "Flow Master", "≋", "count", "stages_moved", 200,
       "Move leads forward 200 times."),
    _b("selling", "deal_1", "Deal Maker", "★", "count", "deals_won", 1,
       "Win your first confirmed deal."),
    _b("selling", "deals_5", "High Five", "5", "count", "deals_won", 5,
       "Win 5 confirmed deals."),
    _b("selling", "deals_10", "Double Digits", "⑩", "count", "deals_won", 10,
       "Win 10 confirmed deals."),
    _b("selling", "deals_25", "Closer", "✔", "count", "deals_won", 25,
       "Win 25 confirmed deals."),
    _b("selling", "deals_50", "Rainmaker", "☔", "count", "deals_won", 50,
       "Win 50 confirmed deals."),
    _b("selling", "deals_100", "Centurion", "Ⅽ", "count", "deals_won", 100,
       "Win 100 confirmed deals."),
    _b("selling", "revenue_10k", "$10K Club", "$", "count", "revenue_cents", 1_000_000,
       "Reach $10,000 in confirmed revenue."),
    _b("selling", "revenue_50k", "$50K Club", "$", "count", "revenue_cents", 5_000_000,
       "Reach $50,000 in confirmed revenue."),
    _b("selling", "revenue_100k", "Six Figures", "$", "count", "revenue_cents", 10_000_000,
       "Reach $100,000 in confirmed revenue."),
    _b("selling", "revenue_500k", "Half a Million", "$", "count", "revenue_cents",
       50_000_000, "Reach $500,000 in confirmed revenue."),
    _b("selling", "fast_lead", "Off the Blocks", "⚡", "within_days", "leads_logged", 1,
       "Log a lead within 3 days of your approval.", days=3),
    _b("selling", "fast_five_leads", "Quick Pipeline", "⚡", "within_days", "leads_logged",
       5, "Log 5 leads within 14 days of your approval.", days=14),
    _b("selling", "fast_deal", "Fast Closer", "⚡", "within_days", "deals_won", 1,
       "Win a confirmed deal within 30 days of your approval.", days=30),
    _b("selling", "fast_three", "Hot Start", "⚡", "within_days", "deals_won", 3,
       "Win 3 confirmed deals within 60 days of your approval.", days=60),
    _b("selling", "fast_revenue", "Early Revenue", "⚡", "within_days", "revenue_cents",
       500_000, "Reach $5,000 in confirmed revenue within 90 days of approval.", days=90),
    _b("selling", "month_top_deals", "Deal of the Month", "♛", "rank", "deals_won", 1,
       "Be #1 by deals won in a calendar month."),
    _b("selling", "month_top3_deals", "Podium", "♜", "rank", "deals_won", 3,
       "Finish in the top 3 by deals won in a calendar month."),
    _b("selling", "month_top10_deals", "Top Ten", "♞", "rank", "deals_won", 10,
       "Finish in the top 10 by deals won in a calendar month."),
    _b("selling", "month_top_revenue", "Revenue Royalty", "♛", "rank", "revenue_cents", 1,
       "Be #1 by confirmed revenue in a calendar month."),
    _b("selling", "month_top_leads", "Lead Leader", "♚", "rank", "leads_logged", 1,
       "Log the most leads in a calendar month."),
    # learning: training, events, XP and streaks
    _b("learning", "module_1", "Student", "✎", "count", "modules_passed", 1,
       "Pass your first training module."),
    _b("learning", "modules_3", "Learner", "☰", "count", "modules_passed", 3,
       "Pass 3 training modules."),
    _b("learning", "modules_5", "Scholar", "✍", "count", "modules_passed", 5,
       "Pass 5 training modules."),
    _b("learning", "modules_10", "Graduate", "♔", "count", "modules_passed", 10,
       "Pass 10 training modules."),
    _b("learning", "fast_learner", "Fast Learner", "⚡", "within_days", "modules_passed", 3,
       "Pass 3 training modules within 7 days of approval.", days=7),
    _b("learning", "event_1", "Show Up", "☑", "count", "events_attended", 1,
       "Attend your first live event."),
    _b("learning", "events_5", "Regular", "☑", "count", "events_attended", 5,
       "Attend 5 live events."),
    _b("learning", "events_12", "Front Row", "☑", "count", "events_attended", 12,
       "Attend 12 live events."),
    _b("learning", "xp_500", "500 XP", "✦", "count", "xp", 500, "Earn 500 XP."),
    _b("learning", "xp_2500", "2,500 XP", "✦", "count", "xp", 2500, "Earn 2,500 XP."),
    _b("learning", "xp_10000", "10,000 XP", "✦", "count", "xp", 10000, "Earn 10,000 XP."),
    _b("learning", "streak_2", "Warming Up", "♨", "streak", "", 2,
       "Keep a weekly streak for 2 weeks."),
    _b("learning", "streak_4", "Month Strong", "♨", "streak", "", 4,
       "Keep a weekly streak for 4 weeks."),
    _b("learning", "streak_8", "Habit Formed", "♨", "streak", "", 8,
       "Keep a weekly streak for 8 weeks."),
    _b("learning", "streak_13", "Quarter Streak", "♨", "streak", "", 13,
       "Keep a weekly streak for 13 weeks."),
    _b("learning", "streak_26", "Half-Year Streak", "♨", "streak", "", 26,
       "Keep a weekly streak for 26 weeks."),
    _b("learning", "streak_52", "Year-Round", "♨", "streak", "", 52,
       "Keep a weekly streak for 52 weeks."),
    _b("learning", "month_top_xp", "XP Champion", "♛", "rank", "xp", 1,
       "Earn the most XP in a calendar month."),
    # community: chat, playbooks, upvotes
    _b("community", "message_1", "Hello World", "✉", "count", "messages_posted", 1,
       "Post your first chat message."),
    _b("community", "messages_50", "Conversationalist", "✉", "count", "messages_posted",
       50, "Post 50 chat messages."),
    _b("community", "messages_250", "Community Voice", "✉", "count", "messages_posted",
       250, "Post 250 chat messages."),
    _b("community", "playbook_1", "Author", "✍", "count", "playbooks_published", 1,
       "Get your first playbook published."),
    _b("community", "playbooks_3", "Storyteller", "✍", "count", "playbooks_published", 3,
       "Get 3 playbooks published."),
    _b("community", "playbooks_10", "Mentor's Pen", "✍", "count", "playbooks_published",
       10, "Get 10 playbooks published."),
    _b("community", "upvotes_10", "Helpful", "♥", "count", "upvotes_received", 10,
       "Receive 10 upvotes on your playbooks."),
    _b("community", "upvotes_50", "Crowd Favourite", "♥", "count", "upvotes_received", 50,
       "Receive 50 upvotes on your playbooks."),
    _b("community", "month_top_playbooks", "Voice of the Month", "♛", "rank",
       "playbooks_published", 1, "Publish the most playbooks in a calendar month."),
    # teams: recruits and teams
    _b("teams", "recruit_1", "Recruiter", "♟", "count", "recruits", 1,
       "Recruit your first partner with your link."),
    _b("teams", "recruits_5", "Talent Scout", "♟", "count", "recruits", 5,
       "Recruit 5 partners with your link."),
    _b("teams", "recruits_10", "Network Builder", "♟", "count", "recruits", 10,
       "Recruit 10 partners with your link."),
    _b("teams", "recruit_sold_1", "Coach", "♞", "count", "recruits_selling", 1,
       "A partner you recruited makes a sale."),
    _b("teams", "recruits_sold_5", "Team Engine", "♞", "count", "recruits_selling", 5,
       "5 partners you recruited each make a sale."),
    _b("teams", "team_3", "Squad", "☗", "count", "team_members", 3,
       "Lead a team of 3 active partners."),
    _b("teams", "team_10", "Captain", "☗", "count", "team_members", 10,
       "Lead a team of 10 active partners."),
    _b("teams", "team_deals_10", "Team Ten", "☗", "count", "team_deals", 10,
       "Your team wins 10 confirmed deals."),
    _b("teams", "team_deals_50", "Team Fifty", "☗", "count", "team_deals", 50,
       "Your team wins 50 confirmed deals."),
    _b("teams", "team_deals_100", "Team Hundred", "☗", "count", "team_deals", 100,
       "Your team wins 100 confirmed deals."),
)


def seed_engagement() -> None:
    """Insert the XP rules, levels and badges that are missing (idempotent; staff edits
    are kept)."""
    have = set(db.session.scalars(select(XpRule.action)))
    for action, points in XP_ACTIONS.items():
        if action not in have:
            db.session.add(XpRule(action=action, points=points))
    if not db.session.scalar(select(Level.id).limit(1)):
        for name, min_xp in SEED_LEVELS:
            db.session.add(Level(name=name, min_xp=min_xp))
    have = set(db.session.scalars(select(Badge.key)))
    for position, values in enumerate(SEED_BADGES):
        if values["key"] not in have:
            db.session.add(Badge(**values, position=position, active=True))
    db.session.flush()
