"""Demo playbooks for ``flask seed-demo``: the essential sales scripts of seed 003
("Basic Playbook Library: 5-10 essential sales scripts") written by SISO's content team,
one playbook a partner shared and staff published (with upvotes), and one partner
submission waiting for review (seed 001 "Partners share what works for them").

Figures match the training modules (core/seed.py): websites from $1,500, online shops
from $3,000, booking or ordering apps from $4,500, an average deal of about $1,500.
"""

COLD_CALL = """\
**When:** the first call to an owner who has never heard of SISO. Aim for a 15-minute
follow-up call, not a sale.

## Before you dial (2 minutes)
- Open their website **on your phone**. Note one concrete problem: slow to load, no
  "Book" or "Order" button, opening hours missing, a menu that is a PDF.
- Check their Google reviews: what do customers praise? You will use it.

## The opener
> "Hi, is this **[owner's name]**? This is **[your name]**. I'll be quick: I help local
> businesses get more bookings from their website. I was on your site this morning
> from my phone and noticed **[the problem]**. Do you have 30 seconds for me to tell
> you why I'm calling?"

Wait for the answer. A "yes" or "go on" is a green light.

> "Your reviews say people love **[what they praise]**. But on a phone, **[the
> problem]**, and that's where most of your customers look first. SISO builds sites that
> fix exactly that, usually live in about three weeks. Would a 15-minute call this week
> be worth it, to see what it would look like for you?"

## If they are busy
> "No problem. When is a better time: tomorrow morning or Thursday afternoon?"

Always offer **two** times. Log the lead in the portal right after the call, with the
problem you found in the notes, and move it to **contacted**.

## What not to do
- Don't open with "How are you today?" or with SISO's portfolio.
- Don't quote a price on the first call: "It depends on what you need; the call is how
  we find out."
"""

OBJECTIONS = """\
**Rule one:** never argue with an objection. Agree that it is fair, then ask a question.
The question does the work.

| They say | You say |
|---|---|
| "It's too expensive." | "Fair. What is one new customer worth to you in a year? If the site brings in two a month, what does that make it cost?" |
| "We already have a website." | "Great. When did you last look at it on your phone? Can I show you what I saw?" |
| "My nephew does our website." | "That's handy. Would a free second opinion hurt? If he's doing a great job I'll tell you." |
| "Not right now." | "Understood. What would need to change for it to be the right time? Shall I call back in [month]?" |
| "Send me an e-mail." | "Happy to. So it's useful and not just another e-mail: what's the one thing you'd want the site to do better?" |
| "We don't trust agencies." | "I get it, plenty of people have been burned. What went wrong last time? SISO agrees a fixed price up front." |

## "It's too expensive", step by step
1. **Agree:** "It's a real amount of money, you're right to ask."
2. **Ask for the value:** "What's a typical customer worth to you? A table of four on a
   Friday, a new patient, a listing?"
3. **Do the sum with them**, out loud: a $1,500 site that brings in one extra $150
   customer a month pays for itself within the year.
4. **Offer a smaller start:** a business website starts at $1,500; a shop or booking
   app can come later.

## When to stop
Two "no"s to the same question mean no. Thank them, ask if you may check back in three
months, and log the lead as **lost** with the reason: it makes the next call easier.
"""

DISCOVERY = """\
**When:** the 15-minute call you booked with a restaurant, café or bar owner. You are
there to *listen*: aim to talk for a third of the call at most.

## Open (1 minute)
> "Thanks for the time. I'd like to ask a few questions about how customers find you
> and book, then tell you honestly whether we can help. Sound OK?"

## Questions that matter
1. "Where do most new customers come from today: walk-ins, Google, Instagram, word of
   mouth?"
2. "How do people book a table now? Phone, a booking app, walk-in only?"
3. "How many calls do you miss during a busy service?"
4. "Do you pay commission to a delivery or booking platform? Roughly what percentage?"
5. "When someone looks you up on their phone, what do you want them to do first?"
6. "What does a busy Friday look like compared to a slow Tuesday?"
7. "If we fixed one thing about your website, what would make the biggest difference?"
8. "Who else decides on something like this? A partner, a manager?"

## Listen for
- **Platform commissions**: 15–30% per order is common. A booking or ordering app
  (from $4,500) that moves even some orders in-house can pay for itself quickly.
- **Missed calls during service**: online booking answers them for you.
- **A PDF menu**: slow and hard to read on a phone; an easy first win.

## Close the call
> "Here's what I heard: **[repeat their top two problems in their words]**. I'd like
> SISO's team to put together a proposal for that. Can we look at it together on
> **[day]**?"

Log the lead straight away, move it to **qualified**, and write their answers in the
notes: SISO prepares the proposal from them.
"""

FOLLOW_UP = """\
**When:** the same day as your first call, while they still remember you. Short beats
clever: four sentences and one question.

## The e-mail
**Subject:** Your website: the [problem] we talked about

> Hi [first name],
>
> Thanks for your time today. As promised, here's the short version: on a phone, your
> site **[the problem in their words]**, and that's where most of your new customers
> look first.
>
> SISO builds sites and booking apps for businesses like yours, usually live in about
> three weeks, with a fixed price agreed up front. Here's one we did for a **[similar
> business]**: [link to a case study from the Resources page].
>
> Would **[day] at [time]** work for a 15-minute call to go through what it would look
> like for **[business name]**?
>
> Best,
> [your name]
> [your phone]

## If there is no answer
- **Day 3:** reply to your own e-mail: "Hi [first name], just bringing this back to the
  top of your inbox. Does [day] still work?"
- **Day 7:** one last, friendly note: "I don't want to fill your inbox. If now isn't the
  time, just say so and I'll check back in a few months."
- Then stop, and set a reminder in the lead's next action.

## Tips
- Use **their** words for the problem, not ours.
- Attach nothing: links to co-branded PDFs from the Materials page are fine.
- Log each e-mail as an activity on the lead, so you know where you are.
"""

REAL_ESTATE = """\
**Who:** independent agents and small agencies. Their listings live on the big portals;
their own website is often an afterthought. That's the opening.

## The angle
Every lead that comes through a portal is shared with competitors. A lead from the
agent's **own site** is theirs alone. Sell the site as a way to own more of their leads.

## The pitch (on a call or in their office)
> "When a seller Googles you after seeing your sign, what do they find? Most agents send
> them to a portal page next to ten other agents. SISO builds agent sites with your own
> listings, a 'What's my home worth?' form and your reviews, so the sellers who look you
> up contact *you*."

## Questions to ask
- "How many valuation requests did you get last month, and from where?"
- "What does a listing bring you in commission?"
- "Who updates your website today, and how long does it take?"

## Do the sum
One extra listing a year usually pays for a business website ($1,500) many times over.
Say it with their own figures, not ours.

## Next step
Offer to send two agent sites SISO built (Resources → Case studies) and book a
15-minute call with SISO's team. Log the lead with the number of valuation requests
they mentioned: it goes into the proposal.
"""

DENTAL = """\
**Who:** dental practices, physiotherapists, clinics. The receptionist answers the
phone; the owner decides. Ask the receptionist for the best time to reach the owner, and
use their name when you call back.

## The opener
> "Hi, this is [your name]. I help practices like yours take bookings online, so the
> phone rings less and fewer new patients go elsewhere. Is [owner's name] the right
> person to talk to about the website?"

## With the owner
> "Most new patients search on their phone, in the evening, when you're closed. If they
> can't book then, many book whoever they can. SISO builds practice websites with online
> booking that fits your calendar. What happens today when someone wants to book at
> 9 pm?"

## What they worry about
- **Privacy:** "Booking requests go to you over a secure connection; we don't put
  patient records on the site."
- **Time:** "You don't write anything. SISO sets it up with you; it's usually live in a
  few weeks."
- **Cost:** "What is a new patient worth to you over a year? One or two extra a month
  usually covers it."

## Next step
Book a call with SISO's team for a booking-app proposal (from $4,500) or a practice
website (from $1,500). Log the lead with the booking system they use today.
"""

TRADES = """\
**Who:** plumbers, electricians, builders, cleaners: owners who are on a job all day
and miss calls. Call before 8 am or after 5 pm.

## The opener
> "Hi [name], I'll be quick because I know you're probably on a job. When you're up a
> ladder and the phone rings, what happens to that call?"

Let them answer. Most say it goes to voicemail, and half the people never leave a
message.

> "Those are jobs going to whoever picks up next. SISO builds simple websites where
> customers can ask for a quote and pick a time, so you get the job in writing even
> when you can't answer. Worth a 10-minute chat tonight or tomorrow morning?"

## Good to know
- Owners like **before and after photos** of their own work: suggest a gallery.
- A quote form that asks for a photo of the problem saves them site visits.
- Keep it practical: talk about jobs and evenings back, not design.

Log the lead with the hours they are easiest to reach.
"""

PARTNER_ACCOUNTANTS = """\
I get most of my clients through **accountants**, not cold calls. Here's exactly how.

## Why it works
Accountants see every small business's numbers. They know who is growing, who is
starting out and who is struggling to get customers, and their clients trust them.

## What I do
1. I pick **three local accountants** a month who serve small businesses (their own
   websites usually say so).
2. I call and say: "I help your kind of clients get more customers from their website.
   I'm not selling to you: I'd like to be someone you can send clients to when they
   ask. Can I buy you a coffee?"
3. Over coffee I ask which clients are **starting out or expanding**. Those need a
   website most.
4. I give them a co-branded one-pager from the Materials page with my referral QR code.

## What made the difference
- I **report back** after every introduction, even when it doesn't close. Accountants
  keep sending when they know what happened.
- I never ask them for a fee, and I don't pay one.

Two accountants now send me a client every month or two. That's most of my deals.
"""

PARTNER_CAFES = """\
Walk-in pitch that works for me with cafés, at 2-3 pm when it's quiet.

I order a coffee, then ask the owner if their menu is online. Nearly always it's a photo
or a PDF. I show them on my phone how slow it is and offer a QR menu and order page. I
leave a co-branded flyer and come back the next week. 3 of my last 10 cafés said yes to
a call with SISO.
"""

#: Written by SISO's content team, published.
SEED_PLAYBOOKS = [
    dict(title="Cold-call opener: the 30-second website check", industry="Any industry",
         kind="script", body=COLD_CALL),
    dict(title="Handling objections: price, timing and \"my nephew\"", industry="Any industry",
         kind="script", body=OBJECTIONS),
    dict(title="Discovery questions for restaurant owners",
         industry="Restaurants & hospitality", kind="playbook", body=DISCOVERY),
    dict(title="Follow-up e-mail after the first call", industry="Any industry",
         kind="script", body=FOLLOW_UP),
    dict(title="Estate agents: own your leads", industry="Real estate", kind="playbook",
         body=REAL_ESTATE),
    dict(title="Dental and clinics: the online-booking pitch", industry="Health & dental",
         kind="script", body=DENTAL),
    dict(title="Trades: the missed-calls opener", industry="Trades & home services",
         kind="script", body=TRADES),
]

#: Shared by a partner and published by staff (index into the demo partners, fields).
PARTNER_PUBLISHED = (0, dict(title="How I get referrals from accountants",
                             industry="Professional services", kind="playbook",
                             body=PARTNER_ACCOUNTANTS))
#: Shared by a partner, waiting for review.
PARTNER_PENDING = (2, dict(title="Café walk-in: the QR menu pitch",
                           industry="Restaurants & hospitality", kind="script",
                           body=PARTNER_CAFES))


def seed_demo_playbooks(content_user, partner_users: list) -> dict:
    """Add the demo playbooks through ``core.community.playbooks`` (so they pass the same rules):
    the staff scripts, one partner playbook published with a thank-you note and upvoted
    by other partners, and one partner submission waiting in the review queue.

    ``content_user`` a content staff user; ``partner_users`` the demo partners' users,
    approved ones first. Returns ``{"playbooks": int, "upvotes": int}``."""
    from core.community.playbooks import review_playbook, save_playbook, set_upvote, submit_playbook

    made = [save_playbook(content_user, None, status="published", **fields)
            for fields in SEED_PLAYBOOKS]
    who, fields = PARTNER_PUBLISHED
    shared = submit_playbook(partner_users[who], **fields)
    review_playbook(content_user, shared.id, "publish",
                    "Thank you! This is exactly the kind of method other partners ask about.")
    who, fields = PARTNER_PENDING
    submit_playbook(partner_users[who], **fields)
    # upvotes: the scripts most partners use get the most
    votes = 0
    for pb, voters in zip(made + [shared], (9, 7, 4, 6, 2, 3, 1, 5), strict=True):
        for user in partner_users[1:1 + voters]:
            if user.id != pb.author_id:
                set_upvote(user, pb.id, True)
                votes += 1
    return {"playbooks": len(made) + 2, "upvotes": votes}
