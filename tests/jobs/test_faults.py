"""Faults while the app runs, nothing lost (rules: "Jobs and retries"): Redis stops answering
while finance approves a Stripe payout.

The approval is a database commit; the transfer job is enqueued only after it, and when
Redis does not answer the payout waits, approved, for the sweeper every worker runs
(``core.money.payouts.sweep_payouts``). The test plays it through: finance approves in the
back office with Redis gone, is told the transfer is queued for later, Redis comes back,
the sweeper and a real worker send it, and the fake Stripe server holds one transfer,
also after the sweeper and the worker run again.
"""

from datetime import timedelta

from conftest import free_port, login, make_staff
from redis import Redis
from test_story import admin_action
from test_stripe_payouts import (  # noqa: F401  (fixtures)
    control,
    fake_stripe,
    onboarded_partner_with_balance,
    stripe_app,
)

from core.base.extensions import db
from core.money.models import Payout
from core.money.payouts import create_payout


def test_redis_down_while_finance_approves_a_payout(stripe_app, fake_stripe,  # noqa: F811
                                                    run_worker):
    with stripe_app.app_context():
        partner = onboarded_partner_with_balance(fake_stripe)
        make_staff("finance@example.com", ("finance",))
        payout = create_payout(partner.id, partner.user_id)
        db.session.commit()
        pid, amount = payout.id, payout.amount_cents
    finance = stripe_app.test_client()
    assert login(finance, "finance@example.com").status_code == 302

    # Redis goes away: nothing listens on this port.
    live = stripe_app.extensions["siso_redis"]
    stripe_app.extensions["siso_redis"] = Redis.from_url(
        f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        resp = admin_action(finance, "payouts", "approve", [pid])
        assert resp.status_code == 302
        page = finance.get(resp.headers["Location"]).get_data(as_text=True)
    finally:
        stripe_app.extensions["siso_redis"] = live
    assert "queued for later" in page, page
    with stripe_app.app_context():
        row = db.session.get(Payout, pid)
        assert row.status == "approved" and row.approved_at is not None
        # The sweeper leaves payouts approved in the last 2 minutes to their own job:
        # let those minutes pass.
        row.approved_at = row.approved_at - timedelta(minutes=3)
        db.session.commit()
    assert control(fake_stripe, "state")["transfers_count"] == 0

    # Redis is back: the worker's ticker runs the sweeper, then the transfer job.
    from core.money.payouts import sweep_payouts

    with stripe_app.app_context():
        assert sweep_payouts() == {"enqueued": 1, "failed": 0}
    run_worker()
    with stripe_app.app_context():
        row = db.session.get(Payout, pid)
        assert row.status == "paid", (row.status, row.failure_message)
        assert row.amount_cents == amount
    state = control(fake_stripe, "state")
    assert state["transfers_count"] == 1

    # Another sweep and another worker later: nothing is sent twice.
    with stripe_app.app_context():
        assert sweep_payouts() == {"enqueued": 0, "failed": 0}
    run_worker()
    assert control(fake_stripe, "state")["transfers_count"] == 1


def test_the_api_says_when_an_approved_transfer_could_not_be_queued(
        stripe_app, fake_stripe, client):  # noqa: F811
    """With Redis gone, ``POST /api/staff/payouts/{id}/approve`` approves the payout and
    says the transfer is queued for later (``jobs_queued: false``, a ``warning`` and a
    ``Warning`` header); with Redis there, the same call says nothing of the kind."""
    from conftest import api_token

    with stripe_app.app_context():
        partner = onboarded_partner_with_balance(fake_stripe)
        make_staff("finance@example.com", ("finance",))
        first = create_payout(partner.id, partner.user_id).id
        db.session.commit()
        other = onboarded_partner_with_balance(fake_stripe)
        second = create_payout(other.id, other.user_id).id
        db.session.commit()
    headers = api_token(client, "finance@example.com", kind="staff")
    live = stripe_app.extensions["siso_redis"]
    stripe_app.extensions["siso_redis"] = Redis.from_url(
        f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        resp = client.post(f"/api/staff/payouts/{first}/approve", headers=headers)
    finally:
        stripe_app.extensions["siso_redis"] = live
    body = resp.get_json()
    assert resp.status_code == 200 and body["status"] == "approved"
    assert body["jobs_queued"] is False and "queued for later" in body["warning"]
    assert resp.headers["Warning"].startswith('199 - "Saved.')
    # The notice is part of the documented answer (declared, not merely tolerated).
    from jsonschema import Draft202012Validator

    doc = client.get("/api/openapi.json").get_json()
    payout = doc["components"]["schemas"]["Payout"]
    assert {"jobs_queued", "warning"} <= set(payout["properties"])
    Draft202012Validator({"components": doc["components"], **payout}).validate(body)
    normal = client.post(f"/api/staff/payouts/{second}/approve", headers=headers)
    assert normal.status_code == 200 and normal.get_json()["status"] == "approved"
    assert "warning" not in normal.get_json() and "Warning" not in normal.headers
