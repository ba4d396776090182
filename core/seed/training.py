"""Starter training content: the getting-started path and the essential sales scripts
(the roadmap's "Basic Playbook Library: 5-10 essential sales scripts"), in Markdown for
``core.content.training.render_module_body``. SISO's own words for its partners; prices
and figures from the customer's brief (average deal about $1,500)."""

FIRST_WEEK = """\
Most partners who close a deal in their first month do the same few things in their first
week. Do them in this order.

## Day 1: get ready (30 minutes)
1. **Finish your profile**: company, phone and the industry you know best. Staff use it to
   send you leads and materials that fit.
2. **Pass the two required modules**: *SISO overview* and *Sales fundamentals*. Until they
   are passed you stay on Starter, whatever you sell.
3. **Choose how you are paid** on the Earnings page, so your first commission is not held.

## Day 2: make your list (1 hour)
Write down **25 businesses** you could introduce. Start with people who already trust you:
- owners you buy from every week (the café, the barber, the gym, the dentist);
- friends and family who run a business or work in one;
- businesses in the industry you worked in before.

Next to each, note one thing about their website: none, slow, not made for phones, no
online booking or ordering. That note is your reason to call.

## Day 3 to 5: ten conversations
Use the scripts in *#sales-scripts*. Aim for **ten real conversations**, not a hundred
messages. Log every business that is interested as a lead the same day, with what you
learnt: who decides, what the site must do, the budget if they said it.

## Day 6: follow up
Everyone who said "maybe" gets the follow-up message. Move each lead in the pipeline
(contacted, qualified, proposal) so SISO's team knows where it stands.

## Day 7: share and ask
Post what you learnt in *#training-tips* or *#ask-for-help*. Partners answer quickly, and
the ones who share close more.

> Three deals take you from Starter (20%) to Active (22%) and open the referral bonus.
"""

USING_THE_PORTAL = """\
## Leads
Add a lead as soon as a business is interested: **Leads → + Add a lead**. Only the
company is required, but the contact, phone and an estimated value help SISO prepare.
Works offline too: the lead waits on your phone and is sent when you have signal.

Move the lead as it happens: *new → contacted → qualified → proposal → won or lost*.
**Mark won** only when the client has agreed and the value is known; staff confirm the
deal, and your commission appears in Earnings.

## Your referral links
The dashboard has two links:
- the **client link** opens a page with your name where a business can leave its details;
  the lead is yours automatically;
- the **recruiting link** brings new partners; from Active up you earn a bonus on their
  first deal.

Use **Copy** or **Share** next to each link; the QR code works on printed flyers.

## Earnings
A commission is *pending* for your tier's holding period (so a refund can be reversed),
then *approved*. Request a payout once at least $50 is approved. Every month you can
download a statement that adds up to the cent.

## Help
Ask in *#ask-for-help*, or open a ticket under **Support**: it shows when we answer by.
"""

OVERVIEW = """\
SISO builds **websites and web apps** for small and mid-size businesses: restaurants,
gyms, clinics, law firms, shops and start-ups.

## What a client gets
- A site or app designed for their customers, live in weeks, not months
- Hosting, security updates and support after launch
- One team from the first call to the launch, with a fixed price agreed up front

## What SISO sells
| Service | From | Typical buyer |
|---|---|---|
| Business website | $1,500 | any local business without a good site |
| Online shop | $3,000 | shops, brands, restaurants selling online |
| Booking or ordering app | $4,500 | restaurants, gyms, salons, clinics |
| Care plan (monthly) | on request | every client after launch |

## Who buys
Owners who know their website is costing them customers: it is slow, old, hard to use on
a phone, or they have none. The **average deal is about $1,500**.

## Why they choose SISO
- **Fixed price, agreed before work starts**: no surprise invoices.
- **Made for phones first**: most of their customers find them on a phone.
- **Bookings and orders built in**: the site earns money, not just looks good.
- **One team after launch**: updates and fixes without hunting for a freelancer.

## Your part
You introduce the client and log the lead in the portal. SISO runs the proposal and the
delivery; you earn your tier's commission when the deal is confirmed won.
"""

FUNDAMENTALS = """\
Every good sale follows the same four steps.

1. **Qualify.** Do they have a real need, a budget and a decision maker you can reach?
   Three questions settle it: *What should your website do for you that it does not do
   now? Who decides on something like this? Have you set money aside for it this year?*
2. **Listen.** Ask what the website must do for the business (bookings, orders, calls)
   and what a new customer is worth to them. Write their words down: they go in the lead.
3. **Propose.** Log the lead with what you learnt; SISO prepares the proposal with you.
   Never promise a price or a date yourself: say "SISO will send a fixed quote".
4. **Follow up.** Move the lead through the pipeline as it happens, so nothing goes cold.
   Most deals close after the second or third contact, not the first.

## The numbers that matter
- A restaurant with online ordering keeps the 15–30% an ordering platform takes.
- A clinic with online booking stops losing the patients who call after hours.
- If one new customer is worth $200 to them, a $1,500 site pays for itself with eight.

> Log a lead as **won** only when the client has agreed and the value is known.
"""

OBJECTIONS = """\
| They say | You answer |
|---|---|
| "It's too expensive." | "What is one new customer worth to you? If the site brings two a month, how long until it has paid for itself?" |
| "Not now." | "What would need to change for it to be the right time? Can I call you on the first of next month?" |
| "We have a nephew who does websites." | "Great. Would a free second opinion on your current site help? SISO can review it, no obligation." |
| "We don't trust agencies." | "Fair. SISO agrees a fixed price before starting. Here is a site they built for a business like yours." |
| "We get enough customers from social media." | "How many ask for your prices or hours in messages? A site answers them at 2 a.m." |
| "Send me something by e-mail." | "Happy to. So I send the right thing: is it bookings, orders or just being found that matters most?" |

Never argue with an objection: ask a question about it. The answer tells you whether
there is a deal, and a clear "no" is better than a "maybe" that never ends.
"""

PRODUCT = """\
## Services
- **Business website**: from $1,500, live in about three weeks. Up to eight pages,
  made for phones, contact and map, basic search-engine setup.
- **Online shop**: from $3,000, payments and stock included; the client adds products
  themselves.
- **Booking or ordering app**: from $4,500, for restaurants, gyms and clinics; bookings
  and orders go straight to the owner's phone.
- **Care plan**: hosting, updates and support, monthly.

Prices are a starting point; SISO quotes each project after the first call.

## How a project runs
1. **First call** with SISO (30 minutes): goals, pages, examples they like.
2. **Fixed quote** within two business days.
3. **Design, then build**: the client sees and approves the design first.
4. **Launch and hand-over**: a short training so they can edit text and photos.
"""

ADVANCED = """\
Larger deals have several people who must say yes.

- Find out **who decides**, who signs and who will use the site every day
- Give each of them the one reason that matters to them: the owner wants customers,
  the manager wants less admin, the accountant wants a fixed price
- Bring SISO's team in early on deals over $10,000: custom proposals are an
  Active-tier feature
- Ask for a referral after every launch: a happy client knows three more owners
"""

#: The essential sales scripts: (slug, title, body).
SCRIPTS = [
    ("script-cold-call", "Script: the 30-second cold call", """\
Use it when you call a business you do not know. Goal: a 15-minute conversation, not a sale.

> "Hi, is this the owner? My name is ___, I work with SISO, a team that builds websites
> for businesses like yours. I was looking for your opening hours on my phone earlier
> and ___ *(say what you noticed: no site, the menu would not load, no way to book)*.
> I'm not calling to sell you anything today. Would it be useful if I showed you what a
> site that takes bookings looks like for a ___ like yours? It takes fifteen minutes."

- **If yes:** agree a day and time, then log the lead with what you noticed.
- **If "send me something":** "Sure. Is it more bookings, more orders or being found on
  Google that matters most?" Then send the matching example.
- **If no:** "No problem. Can I check back in three months?" Note the date in the lead.
"""),
    ("script-walk-in", "Script: walking into a local business", """\
Best between 2 and 4 p.m., when restaurants and shops are quiet. Never when there is a
queue.

> "Hi, do you have two minutes? I'm ___, I live nearby and I work with SISO, a web team.
> I tried to ___ *(order, book, see the menu)* on my phone and couldn't. Is that something
> you've thought about fixing?"

Then stop talking and listen. Ask:
1. "How do most new customers find you now?"
2. "What happens when someone wants to book or order after closing time?"
3. "Who would decide on something like this?"

Leave your details, and take theirs: "Can I send you two examples from businesses like
yours?" Log the lead before you reach the next door.
"""),
    ("script-warm-message", "Script: a message to someone you know", """\
Your warmest leads are owners who already know you. Send a short, personal message, not
a brochure.

> "Hi ___, hope the shop is going well! Quick one: I've started working with SISO, a team
> that builds websites and booking apps for small businesses. I thought of you because
> ___ *(a real reason)*. Would you be open to a 15-minute chat about what it could do for
> you? No pressure at all if the timing is wrong."

- One message per person, written by you, with a real reason.
- If they reply "how much?": "Sites start at $1,500 with a fixed price agreed before work
  starts; SISO quotes after a short call."
- If they do not reply in four days, use the follow-up script once.
"""),
    ("script-discovery", "Script: the discovery call questions", """\
The first real conversation. You ask, they talk (aim for 80% them). Write their answers
in the lead.

**Today**
1. "How do new customers find you today?"
2. "What does your current website do for you, and what annoys you about it?"

**What they want**
3. "If the new site worked perfectly, what would be different in six months?"
4. "Bookings, online orders, or being found on Google: which matters most?"

**What it is worth**
5. "What is a new customer worth to you over a year?"
6. "Have you set aside a budget for this? Roughly what range?"

**Who and when**
7. "Who else would decide on this with you?"
8. "Is there a date that matters: a season, an opening, a launch?"

Close: "Thank you. The next step is a 30-minute call with SISO's team, who will send a
fixed quote. Does Tuesday or Thursday suit you better?"
"""),
    ("script-follow-up", "Script: following up when they go quiet", """\
Most deals need two or three contacts. Space them out and add something each time.

**Day 3: a useful example**
> "Hi ___, here is the site SISO built for ___, a ___ like yours. Look at how the booking
> button works on a phone. Happy to answer any question."

**Day 7: a simple question**
> "Hi ___, is a new website still on your list for this year, or should I check back
> later?"

**Day 14: the polite close**
> "Hi ___, I don't want to fill your inbox, so this is my last message for now. If the
> timing changes, just reply here and I'll set up the call with SISO."

Then move the lead to *lost* with the reason, or set a reminder. A clear "not now" is a
result: you can come back in three months.
"""),
    ("script-hand-over", "Script: booking the call with SISO", """\
When the owner is interested, your job is to get them to the first call with SISO's team.
You do not quote prices or dates yourself.

> "Great. Here's how it works: SISO's team has a 30-minute call with you to understand
> what you need, then sends a fixed quote within two business days. You only go ahead if
> the quote works for you. I'll be on the call too. Does ___ or ___ suit you?"

Before the call:
- Move the lead to **qualified** and add everything you learnt (who decides, what the
  site must do, budget, deadline).
- Tell the owner what to have ready: examples of sites they like, their logo, who will
  update the site.

After the quote is sent, move the lead to **proposal** and follow up after two days.
"""),
    ("script-have-a-website", "Script: \"We already have a website\"", """\
The most common answer. Do not argue; find out whether the site does its job.

> "That's good to hear. Can I ask: when did you last get a booking or an order through
> it? And how does it look on a phone?"

Listen for:
- **"It's old" / "my nephew made it"**: "Would a free second opinion help? SISO can
  review it and tell you what it costs you, no obligation."
- **"It's fine"**: "Great. If that changes, here's my number." Log it as a lead with a
  reminder in six months.
- **"We don't get anything from it"**: that is the need. "What would you want it to do?"
  Then continue with the discovery questions.
"""),
    ("script-referral-ask", "Script: asking a happy client for introductions", """\
The best time is right after launch, when the client is pleased.

> "I'm really glad the new site is working for you. I get paid when I introduce SISO to
> businesses, so it helps me a lot: who are two other owners you know who could use the
> same thing? I'll mention your name only if you're happy with that."

- Ask for **names**, not "anyone": two specific people are easier to think of.
- Send the introduction within 24 hours, while they remember.
- Thank the client afterwards, whatever the result.

Leads from an introduction close two to three times as often as cold ones.
"""),
]


def starter_training() -> list[dict]:
    """The seed training modules (rules: "Training"): the getting-started path (required
    ones first), the skills modules and the sales scripts, in the order partners take
    them."""
    modules = [
        dict(slug="siso-overview", title="SISO overview: what we build and for whom",
             channel="getting-started", required=True, position=0, body=OVERVIEW),
        dict(slug="sales-fundamentals", title="Sales fundamentals", channel="sales-fundamentals",
             required=True, position=1, body=FUNDAMENTALS),
        dict(slug="handling-objections", title="Handling objections guide",
             channel="sales-fundamentals", position=2, body=OBJECTIONS),
        dict(slug="product-knowledge", title="Product knowledge: services and pricing",
             channel="product-knowledge", position=3, body=PRODUCT),
        dict(slug="advanced-techniques", title="Advanced techniques",
             channel="advanced-techniques", position=4, body=ADVANCED, min_tier_key="active"),
        dict(slug="first-week", title="Your first week: a step-by-step plan",
             channel="getting-started", position=5, body=FIRST_WEEK),
        dict(slug="using-the-portal", title="Using the portal: leads, links and earnings",
             channel="getting-started", position=6, body=USING_THE_PORTAL),
    ]
    modules += [dict(slug=slug, title=title, channel="sales-scripts", position=10 + i, body=body)
                for i, (slug, title, body) in enumerate(SCRIPTS)]
    return modules
