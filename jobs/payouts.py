"""Payout transfer job (DESIGN.md "Payout"): one Stripe Transfer per payout, ever."""

from rq import get_current_job

from core.base.extensions import db
from core.money.gateways import GatewayError, TransientGatewayError, stripe_transfer
from core.money.models import Payout
from core.money.payouts import (
    fail_payout,
    fail_unconfirmed_transfer,
    record_transfer,
    start_transfer,
)
from jobs.runtime import app_job, job_logger


def _last_try() -> bool:
    """True when this run is an RQ job with no retry left (or none configured)."""
    job = get_current_job()
    return job is not None and not job.should_retry


@app_job
def send_payout(payout_id: int) -> str:
    """Send an approved payout.

    Manual gateway: moves it to ``processing`` and waits for finance to record the
    reference. Stripe gateway: creates the transfer with idempotency key
    ``payout-<id>`` and marks it paid; a refusal marks it failed with Stripe's message.
    A transient error (429, 5xx, timeout) is raised so RQ retries with the same key; on
    the job's last try it fails the payout instead (``fail_unconfirmed_transfer``:
    commissions back in the balance, partner notified), so it never stays
    ``processing`` for the sweeper to resend after Stripe's key has expired. Called
    outside RQ, a transient error is raised and the payout stays ``processing``.
    Returns the payout's final status for this run. Safe to run twice.
    """
    log = job_logger(__name__)
    payout = start_transfer(payout_id)
    if payout is None:
        payout = db.session.get(Payout, payout_id)
        if payout is None or payout.status != "processing":
            log.info("payout %s is %s; nothing to do", payout_id,
                     payout.status if payout else "missing")
            return payout.status if payout else "missing"
    db.session.commit()  # processing is visible before any money moves
    if payout.gateway != "stripe":
        log.info("payout %s awaits a manual payment reference", payout_id)
        return payout.status
    destination = payout.partner.stripe_account_id
    if not destination:
        fail_payout(payout, "The partner has not finished Stripe onboarding.", None)
        return "failed"
    try:
        transfer_id = stripe_transfer(payout.amount_cents, payout.currency, destination,
                                      payout.id)
    except TransientGatewayError as exc:
        if _last_try():
            log.error("payout %s: Stripe still failing after the last retry: %s",
                      payout_id, exc)
            fail_unconfirmed_transfer(
                payout, f"Stripe kept failing (rate limit, server error or timeout) "
                        f"through every retry; the last error was: {exc}.")
            return "failed"
        log.warning("payout %s: transient Stripe error, will retry", payout_id)
        raise
    except GatewayError as exc:
        fail_payout(payout, f"Stripe refused the transfer: {exc}", None)
        return "failed"
    record_transfer(payout, transfer_id)
    log.info("payout %s paid by transfer %s", payout_id, transfer_id)
    return "paid"
