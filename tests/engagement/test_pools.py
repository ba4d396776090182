"""Bonus pools: the split never creates or loses a cent, the team's parts become pending
bonus commissions once, and bad input stores nothing (rules: "Bonus pools")."""

from datetime import timedelta
from fractions import Fraction

import pytest
from conftest import make_partner, make_staff
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from core.base.errors import Conflict, ValidationError
from core.base.extensions import db
from core.base.models import AuditLog
from core.base.timeutil import now_utc
from core.engagement.models import BonusPool, BonusPoolShare
from core.engagement.pools import create_pool, pools_for, settle, split_pool, standing
from core.money.models import Commission, Deal

# --- the split ------------------------------------------------------------------------------

@settings(max_examples=400, deadline=None)
@given(pool=st.integers(min_value=0, max_value=100_000_000),
       contributions=st.lists(st.integers(min_value=0, max_value=10_000_000), min_size=1,
                              max_size=40))
def test_parts_add_up_to_the_pool_and_stay_within_a_cent_of_exact_shares(pool, contributions):
    shares = dict(enumerate(contributions, 1))
    parts = split_pool(pool, shares)
    total = sum(contributions)
    assert set(parts) == set(shares)
    assert all(p >= 0 for p in parts.values())
    if total == 0:
        assert sum(parts.values()) == 0
        return
    assert sum(parts.values()) == pool
    for pid, c in shares.items():
        exact = Fraction(pool * c, total)
        assert abs(parts[pid] - exact) < 1
        if c == 0:
            assert parts[pid] == 0


def test_split_worked_examples():
    # $100.00 three ways: 3333.33... each; the leftover cent goes to the lowest id on a tie
    assert split_pool(10_000, {7: 1, 3: 1, 5: 1}) == {3: 3334, 5: 3333, 7: 3333}
    # 2:1 of $1.00: 66.67 and 33.33 -> 67 and 33
    assert split_pool(100, {1: 2, 2: 1}) == {1: 67, 2: 33}
    # largest remainder first, whatever the id order: 1/7 and 6/7 of 10 cents
    assert split_pool(10, {1: 1, 2: 6}) == {1: 1, 2: 9}
    assert split_pool(500, {1: 0, 2: 0}) == {1: 0, 2: 0}
    with pytest.raises(ValueError):
        split_pool(-1, {1: 1})


# --- settling a team's pool --------------------------------------------------------------------

def _team():
    """Lena leads Mo and Nia; Oz is on nobody's team. Each has confirmed $1,000 deals."""
    lena = make_partner("Lena Lead", email="lena@example.com", deals=3)
    mo = make_partner("Mo Member", email="mo@example.com", deals=2, leader=lena)
    nia = make_partner("Nia Member", email="nia@example.com", deals=1, leader=lena)
    make_partner("Nia Idle", email="idle@example.com", leader=lena)  # contributes nothing
    oz = make_partner("Oz Outsider", email="oz@example.com", deals=4)
    db.session.execute(update(Deal).values(confirmed_at=now_utc() - timedelta(days=1)))
    db.session.commit()
    return lena, mo, nia, oz


def _ended_pool(leader, target=5, pool=100_000, metric="deals"):
    now = now_utc()
    fin = make_staff("fin@example.com", ("finance",))
    p = create_pool(fin.id, "Q4 team push", leader.id, metric, target, pool,
                    now - timedelta(days=10), now + timedelta(minutes=5))
    db.session.commit()
    return p, fin


def test_settling_pays_each_member_by_contribution_as_pending_bonuses(ctx):
    lena, mo, nia, oz = _team()
    pool, fin = _ended_pool(lena, target=6, pool=100_000)  # $1,000 across 3+2+1 deals
    # before the window ends: share-to-be, and settling is refused
    view = standing(pool)
    assert view["total"] == 6 and view["reached"]
    assert {m["name"]: m["share_cents"] for m in view["members"]} == {
        "Lena Lead": 50_000, "Mo Member": 33_333, "Nia Member": 16_667, "Nia Idle": 0}
    with pytest.raises(Conflict):
        settle(pool.id, fin.id)
    db.session.rollback()
    db.session.execute(update(BonusPool).values(ends_at=now_utc() - timedelta(seconds=1)))
    db.session.commit()

    settle(pool.id, fin.id)
    db.session.commit()
    bonuses = {c.partner_id: c for c in db.session.scalars(select(Commission).where(
        Commission.type == "bonus"))}
    assert {pid: c.amount_cents for pid, c in bonuses.items()} == {
        lena.id: 50_000, mo.id: 33_333, nia.id: 16_667}
    assert all(c.status == "pending" for c in bonuses.values())  # the normal approval
    assert sum(c.amount_cents for c in bonuses.values()) == 100_000
    assert oz.id not in bonuses
    shares = list(db.session.scalars(select(BonusPoolShare)))
    assert len(shares) == 4 and {s.commission_id for s in shares if s.amount_cents} == \
        {c.id for c in bonuses.values()}
    with pytest.raises(Conflict):  # once
        settle(pool.id, fin.id)
    db.session.rollback()
    assert db.session.scalar(select(db.func.count()).select_from(Commission).where(
        Commission.type == "bonus")) == 3
    actions = list(db.session.scalars(select(AuditLog.action).where(
        AuditLog.object_type == "bonus_pool").order_by(AuditLog.id)))
    assert actions == ["bonus_pool.create", "bonus_pool.settle"]
    # members see what was paid
    seen = pools_for(mo)
    assert len(seen) == 1 and {m["name"]: m["share_cents"] for m in seen[0]["members"]}[
        "Mo Member"] == 33_333
    assert pools_for(oz) == []


def test_a_team_short_of_its_target_is_settled_with_nothing_paid(ctx):
    lena, mo, nia, oz = _team()
    pool, fin = _ended_pool(lena, target=50, pool=100_000)
    assert not standing(pool)["reached"]
    assert all(m["share_cents"] == 0 for m in standing(pool)["members"])
    db.session.execute(update(BonusPool).values(ends_at=now_utc() - timedelta(seconds=1)))
    settle(pool.id, fin.id)
    db.session.commit()
    assert pool.paid_cents == 0
    assert db.session.scalar(select(db.func.count()).select_from(Commission).where(
        Commission.type == "bonus")) == 0


def test_revenue_pool_counts_only_deals_in_the_window(ctx):
    lena, mo, nia, oz = _team()
    # Mo's deals were confirmed before the window: they do not count
    db.session.execute(update(Deal).where(Deal.partner_id == mo.id).values(
        confirmed_at=now_utc() - timedelta(days=40)))
    db.session.commit()
    pool, fin = _ended_pool(lena, target=100_000, pool=999, metric="revenue")
    view = {m["name"]: m for m in standing(pool)["members"]}
    assert view["Mo Member"]["contribution"] == 0
    assert view["Lena Lead"]["contribution"] == 300_000
    # 999 cents by 3:1 -> 749.25 and 249.75 -> 749 and 250
    assert view["Lena Lead"]["share_cents"] == 749 and view["Nia Member"]["share_cents"] == 250


@pytest.mark.parametrize("changes, message", [
    ({"pool_cents": 0}, "pool"), ({"pool_cents": -5}, "pool"),
    ({"pool_cents": 100_000_001}, "pool"), ({"target": 0}, "target"),
    ({"metric": "vibes"}, "measure"), ({"name": " "}, "Name"),
    ({"ends": -20}, "end after it starts"), ({"pool_cents": True}, "pool"),
])
def test_bad_pools_are_refused_and_nothing_is_stored(ctx, changes, message):
    lena = make_partner("Lena Lead", email="lena@example.com")
    fin = make_staff("fin@example.com", ("finance",))
    now = now_utc()
    args = {"name": "Push", "metric": "deals", "target": 3, "pool_cents": 10_000}
    ends = now + timedelta(days=changes.pop("ends", 10))
    args.update(changes)
    with pytest.raises(ValidationError, match=message):
        create_pool(fin.id, args["name"], lena.id, args["metric"], args["target"],
                    args["pool_cents"], now, ends)
    db.session.rollback()
    assert db.session.scalar(select(db.func.count()).select_from(BonusPool)) == 0


# --- back office and portal ---------------------------------------------------------------------

def test_finance_creates_and_settles_in_the_back_office_members_see_their_shares(app, client):
    from conftest import api_token, login, submit

    with app.app_context():
        lena, mo, nia, oz = _team()
        make_staff("fin@example.com", ("finance",))
        make_staff("content@example.com", ("content",))
    content = app.test_client()
    assert login(content, "content@example.com").status_code == 302
    assert content.get("/admin/bonus-pools/new").status_code == 403
    assert login(client, "fin@example.com").status_code == 302
    start = (now_utc() - timedelta(days=5)).strftime("%Y-%m-%d")
    end = (now_utc() + timedelta(days=2)).strftime("%Y-%m-%d")
    form = {"name": "December team push", "leader_email": "lena@example.com",
            "metric": "deals", "target": 6, "pool_cents": 100_000, "starts": start, "ends": end}
    bad = submit(client, "/admin/bonus-pools/new", dict(form, leader_email="nobody@example.com"))
    assert bad.status_code == 422 and "No partner has this e-mail" in bad.get_data(as_text=True)
    resp = submit(client, "/admin/bonus-pools/new", form)
    assert resp.status_code == 302
    with app.app_context():
        pool_id = db.session.scalar(select(BonusPool.id))
    page = client.get(f"/admin/bonus-pools/{pool_id}").get_data(as_text=True)
    assert "Share if it closed now" in page and "$333.33" in page
    # still running: settling is refused (409), nothing paid
    early = submit(client, "/admin/bonus-pools/new", {}, post_url=f"/admin/bonus-pools/{pool_id}")
    assert early.status_code == 409 and "still open" in early.get_data(as_text=True)

    member = app.test_client()
    assert login(member, "mo@example.com").status_code == 302
    html = member.get("/partner/bonus-pools").get_data(as_text=True)
    assert "December team push" in html and "$1,000.00" in html
    assert "Mo Member (you)" in html and "$333.33" in html and "$166.67" in html
    outsider = app.test_client()
    assert login(outsider, "oz@example.com").status_code == 302
    assert "no bonus pool" in outsider.get("/partner/bonus-pools").get_data(as_text=True)
    api = app.test_client().get("/api/partner/bonus-pools",
                                headers=api_token(app.test_client(), "nia@example.com"))
    [item] = api.get_json()["items"]
    assert item["reached"] is True and item["team_total"] == 6
    assert {m["name"]: m["share_cents"] for m in item["members"]}["Nia Member"] == 16_667

    with app.app_context():
        db.session.execute(update(BonusPool).values(ends_at=now_utc() - timedelta(seconds=1)))
        db.session.commit()
    assert submit(client, f"/admin/bonus-pools/{pool_id}", {}).status_code == 302
    settled = client.get(f"/admin/bonus-pools/{pool_id}").get_data(as_text=True)
    assert "paid $1,000.00" in settled and "Settle:" not in settled  # once
    with app.app_context():
        assert db.session.scalar(select(db.func.sum(Commission.amount_cents)).where(
            Commission.type == "bonus")) == 100_000
    assert "Paid" in member.get("/partner/bonus-pools").get_data(as_text=True)
