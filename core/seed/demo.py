"""Reference data (tiers, channels, training) and the demo data of ``flask seed-demo``.

Training and channel names come from the seeds (the customer's "Training
Channels" and "Team Channels").
"""

import random
from datetime import timedelta

from sqlalchemy import select

from core.accounts.models import User
from core.accounts.users import create_staff
from core.base.extensions import db
from core.base.timeutil import now_utc
from core.community.models import Channel, Message
from core.content.models import TrainingCompletion, TrainingModule
from core.program.models import Partner, Tier
from core.program.partners import register_partner
from core.program.tiers import SEED_TIERS
from core.seed.training import starter_training

DEMO_PASSWORD = "siso-demo-2026"  # noqa: S105  (demo accounts, printed in the README)

SEED_CHANNELS = [
    dict(slug="general", name="general-chat", topic="Say hi, share what works", position=0),
    dict(slug="daily-wins", name="daily-wins", topic="Closed something? Tell everyone", position=1),
    dict(slug="ask-for-help", name="ask-for-help", topic="Stuck on a deal? Ask here", position=2),
    dict(slug="announcements", name="announcements", topic="News from the SISO team",
         read_only=True, position=3),
    dict(slug="training-tips", name="training-tips", topic="What you learned this week",
         position=4),
    dict(slug="active-lounge", name="active-lounge", topic="Active+ partners",
         min_tier_key="active", position=5),
    dict(slug="performer-hub", name="performer-hub", topic="Performer and Elite partners",
         min_tier_key="performer", position=6),
    dict(slug="elite-council", name="elite-council", topic="Elite partners",
         min_tier_key="elite", position=7),
    dict(slug="industry-restaurants", name="restaurants", topic="Selling to restaurants",
         position=8),
    dict(slug="industry-real-estate", name="real-estate", topic="Selling to realtors",
         position=9),
    dict(slug="industry-professional", name="professional-services",
         topic="Law, dental, health and other practices", position=10),
]

#: Seed training modules: the getting-started path, skills and the sales scripts
#: (``core.seed.training``).
SEED_TRAINING = starter_training()

#: Certification quiz questions by module slug (prompt, choices, index of the right one).
SEED_QUIZ = {
    "siso-overview": [
        ("What does SISO build for its clients?",
         "Accounting software\nWebsites and web apps\nPrinted brochures", 1),
        ("What is the average SISO deal size?", "About $1,500\nAbout $150\nAbout $150,000", 0),
    ],
    "sales-fundamentals": [
        ("A prospect says the price is too high. What comes first?",
         "Offer a discount\nEnd the call\nAsk what result they need and what it is worth", 2),
        ("When do you log a lead as won?",
         "When the client has agreed and the value is known\nAfter the first call\n"
         "When you send a proposal", 0),
    ],
}


def seed_reference_data() -> None:
    """Insert the seed tiers, channels, training modules and the engagement reference data
    (XP rules, levels, badges) that are missing (idempotent)."""
    have = set(db.session.scalars(select(Tier.key)))
    for t in SEED_TIERS:
        if t["key"] not in have:
            db.session.add(Tier(**t))
    have = set(db.session.scalars(select(Channel.slug)))
    for c in SEED_CHANNELS:
        if c["slug"] not in have:
            db.session.add(Channel(**c))
    have = set(db.session.scalars(select(TrainingModule.slug)))
    for m in SEED_TRAINING:
        if m["slug"] not in have:
            db.session.add(TrainingModule(**m))
    db.session.flush()
    from core.content.models import QuizQuestion

    if not db.session.scalar(select(QuizQuestion.id).limit(1)):
        for slug, qs in SEED_QUIZ.items():
            module = db.session.scalar(select(TrainingModule).where(TrainingModule.slug == slug))
            for pos, (prompt, choices, right) in enumerate(qs):
                db.session.add(QuizQuestion(module_id=module.id, prompt=prompt, choices=choices,
                                            correct_index=right, position=pos))
        db.session.flush()
    from core.engagement.seed import seed_engagement

    seed_engagement()


FIRST = ["Sarah", "Mike", "Lisa", "Tom", "Ana", "Raj", "Chen", "Olu", "Maya", "Ben", "Ivy",
         "Noah", "Zara", "Leo", "Emma", "Omar", "Nina", "Jack", "Sofia", "Kai", "Ella", "Sam",
         "Mia", "Dan", "Lea", "Yuki", "Joe", "Eva", "Max", "Ada", "Ravi", "Isla"]
LAST = ["Thompson", "Reyes", "Kowalski", "Nguyen", "Silva", "Patel", "Wei", "Adeyemi",
        "Cohen", "Murphy"]
INDUSTRIES = ["Restaurants", "Real estate", "Fitness", "Legal", "Retail", "Healthcare"]
COMPANIES = ["TechCorp", "StartupApp", "RetailSite", "Bella Cucina", "FitLife Gym",
             "Harbor Realty", "Smith & Co Law", "GreenLeaf Dental", "Urban Threads",
             "Nova Logistics"]


def seed_demo(rng_seed: int = 2026) -> dict:
    """Create demo staff and 32 partners across all four tiers with teams, leads, deals,
    commissions, a paid payout, a requested payout, chat history and the playbook library
    (``core.seed.playbooks``: staff scripts, a partner's published playbook with upvotes,
    a partner submission waiting for review), goals, upcoming events, learning paths and a
    team bonus pool (:func:`_demo_engagement`).

    Every demo account's password is ``siso-demo-2026``. Returns counts. Runs only on a
    database with no partners (raises ``RuntimeError`` otherwise).
    """
    from core.money.commissions import approve_commissions, set_team
    from core.money.payouts import approve_payout, create_payout, mark_paid, start_transfer

    if db.session.scalar(select(Partner.id).limit(1)):
        raise RuntimeError("Demo data needs an empty database: partners already exist.")
    from flask import g

    # The demo's history is written in seconds; the fraud rules judge partners' own
    # activity, not seeded history (rules: "Fraud rules").
    g.fraud_rules_paused = True
    rng = random.Random(rng_seed)  # noqa: S311  (demo data, not secrets)
    seed_reference_data()
    admin = create_staff("admin@example.com", DEMO_PASSWORD, "Alex Admin", ["admin", "finance"])
    finance = create_staff("finance@example.com", DEMO_PASSWORD, "Fran Finance", ["finance"])
    create_staff("support@example.com", DEMO_PASSWORD, "Sam Support", ["support"])
    content = create_staff("content@example.com", DEMO_PASSWORD, "Cleo Content", ["content"])

    required = list(db.session.scalars(select(TrainingModule).where(TrainingModule.required)))
    # deals per partner: a spread over all four tiers (elite 25+, performer 10+, active 3+)
    plan = [27, 26, 14, 12, 11, 10, 8, 6, 5, 4, 3, 3, 2, 2, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0]
    partners = []
    for i, deals in enumerate(plan):
        name = f"{FIRST[i]} {LAST[i % len(LAST)]}"
        email = f"partner{i + 1}@example.com"
        p = register_partner(email, DEMO_PASSWORD, name, True,
                             company_name=f"{FIRST[i]} Digital", email_verified=True)
        p.industry = INDUSTRIES[i % len(INDUSTRIES)]
        if i < 30:
            p.status = "active"
            p.approved_at = now_utc()
        partners.append((p, deals))
    db.session.flush()
    # teams: partners 0 and 2 lead; partner 0 recruited partners 6..9
    for idx in range(6, 12):
        leader = partners[0][0] if idx < 9 else partners[2][0]
        set_team(partners[idx][0].id, admin.id, team_leader_id=leader.id,
                 recruiter_id=leader.id)
    for p, deals in partners:
        if deals > 0 or rng.random() < 0.5:
            for m in required:
                db.session.add(TrainingCompletion(partner_id=p.id, module_id=m.id))
    db.session.flush()

    deal_count = _demo_leads(partners, admin.id, rng)
    db.session.flush()
    # approve the commissions of the top partners; pay one, request another
    from core.money.models import Commission

    top = [partners[0][0], partners[1][0], partners[3][0]]
    ids = list(db.session.scalars(select(Commission.id).where(
        Commission.partner_id.in_([p.id for p in top]), Commission.status == "pending")))
    approve_commissions(ids, finance.id)
    _demo_tax_forms(top, finance)
    paid = create_payout(top[0].id, finance.id)
    approve_payout(paid.id, finance)
    start_transfer(paid.id)
    mark_paid(paid, "DEMO-WIRE-0001", finance.id)
    create_payout(top[1].id, top[1].user_id)

    general = db.session.scalar(select(Channel).where(Channel.slug == "general"))
    wins = db.session.scalar(select(Channel).where(Channel.slug == "daily-wins"))
    talk = [
        (general, 0, "Morning all! Who is calling restaurants today?"),
        (general, 2, "Me. Bella Cucina wants a booking site, proposal goes out at noon."),
        (wins, 1, "Just closed a $4,500 deal with Harbor Realty!"),
        (wins, 0, "Congrats! What was your pitch?"),
        (general, 5, "Tip: lead with their Google reviews, not with our portfolio."),
    ]
    t0 = now_utc() - timedelta(hours=3)
    for n, (ch, who, body) in enumerate(talk):
        db.session.add(Message(channel_id=ch.id, user_id=partners[who][0].user_id, body=body,
                               created_at=t0 + timedelta(minutes=7 * n)))
    db.session.flush()
    from core.community.chat import ensure_team_channel, open_dm, open_support, post_message

    for p, _ in partners[:3]:
        ensure_team_channel(p)
    dm = open_dm(partners[0][0].user, partners[1][0].user_id)
    post_message(partners[1][0].user, dm, "Want to co-pitch Harbor Realty's sister office?",
                 slow_mode=False)
    help_desk = open_support(partners[4][0].user)
    post_message(partners[4][0].user, help_desk, "How do I add a referral to a lead?",
                 slow_mode=False)
    db.session.flush()
    from core.seed.playbooks import seed_demo_playbooks

    seed_demo_playbooks(content, [p.user for p, _ in partners if p.status == "active"])
    db.session.flush()
    _demo_engagement([p for p, _ in partners], admin, content, finance)
    return {"partners": len(partners), "deals": deal_count,
            "staff": db.session.query(User).filter(User.is_staff).count()}


def _demo_leads(partners: list, admin_id: int, rng: random.Random) -> int:
    """Each partner's leads: their confirmed won deals, and two more at earlier stages.
    Returns how many deals were confirmed."""
    from core.money.commissions import confirm_deal
    from core.program.leads import create_lead, move_lead

    deal_count = 0
    for p, deals in partners:
        for d in range(deals + 2):
            lead = create_lead(p, {"company_name": f"{rng.choice(COMPANIES)} {d + 1}",
                                   "contact_name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                                   "contact_email": f"contact{d}@client.example",
                                   "estimated_value_cents": rng.choice([150000, 250000, 450000])},
                               p.user_id)
            if d < deals and p.status == "active":
                move_lead(lead, "won", p.user_id, rng.choice([150000, 200000, 250000, 450000]))
                confirm_deal(lead.id, admin_id)
                deal_count += 1
            else:
                move_lead(lead, rng.choice(["new", "contacted", "qualified", "proposal"]),
                          p.user_id)
    return deal_count


def _demo_engagement(partners: list, admin: User, content: User, finance: User) -> None:
    """What the first week of a program shows: goals, upcoming events (one RSVPed, one
    for Elite partners), two learning paths, and a team bonus pool for partner1's team
    this month (rules: "Goals", "Events", "Learning paths and certificates", "Bonus
    pools")."""
    from zoneinfo import ZoneInfo

    from core.content.paths import save_path
    from core.engagement.goals import set_goals
    from core.engagement.pools import create_pool
    from core.events.events import create_event, rsvp

    lead = partners[0]
    set_goals(lead, {"experience_level": "advanced", "goal_deals": 4,
                     "goal_revenue_cents": 2_000_000})
    set_goals(partners[4], {"experience_level": "intermediate", "goal_deals": 2})
    set_goals(partners[20], {"experience_level": "beginner", "goal_deals": 1})
    tz = ZoneInfo("America/New_York")
    today = now_utc().astimezone(tz).replace(minute=0, second=0, microsecond=0, tzinfo=None)
    plan = [("webinar", "What's new at SISO this quarter", 5, 12, "", 500),
            ("live_training", "Live training: handling price objections", 9, 17, "", 40),
            ("qa", "Elite circle: ask the founders", 12, 16, "elite", 25)]
    events = []
    for kind, title, days, hour, tier_key, capacity in plan:
        starts = (today + timedelta(days=days)).replace(hour=hour)
        events.append(create_event(content, {
            "kind": kind, "title": title, "timezone": "America/New_York",
            "description": "Bring your questions; the recording follows by e-mail.",
            "starts_at": starts, "ends_at": starts + timedelta(hours=1), "host": "Cleo Content",
            "join_url": f"https://meet.example.com/siso-{days}", "capacity": capacity,
            "min_tier_key": tier_key}))
    rsvp(lead, events[1].id)
    save_path(content.id, None, "sales-foundations", "Sales foundations",
              "From what SISO builds to your first objection handled.",
              ["siso-overview", "sales-fundamentals", "handling-objections"])
    save_path(content.id, None, "advanced-selling", "Advanced selling",
              "Services, pricing and the techniques top partners use.",
              ["product-knowledge", "advanced-techniques"])
    start = now_utc().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    create_pool(finance.id, "Team sprint this month", lead.id, "deals", 6, 60_000,
                start, (start + timedelta(days=32)).replace(day=1))
    db.session.flush()


def _demo_tax_forms(partners, finance) -> None:
    """Verified W-9s (one demo EIN) for the partners the demo pays, so the tax gate lets
    their payouts through; the others show the tax form step."""
    from core.payments.tax import review_tax_form, submit_tax_form

    for p in partners:
        form = submit_tax_form(p, {
            "form": "w9", "legal_name": p.name, "business_name": p.company_name or "",
            "tax_classification": "llc_s" if p.company_name else "individual",
            "address": "100 Demo Street, Austin, TX 78701", "tin_type": "ein",
            "tin": "12-3456789", "certification": True, "signature_name": p.name,
            "signed_on": now_utc().date().isoformat()}, p.user_id)
        review_tax_form(form.id, finance, True)
