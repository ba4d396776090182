"""Payout transfer job (DESIGN.md "Payout"): one Stripe Transfer per payout, ever."""

from core.extensions import db
from core.gateways import GatewayError, TransientGatewayError, stripe_transfer
from core.models import Payout
from core.payouts import fail_payout, record_transfer, start_transfer
from jobs.runtime import app_job, job_logger


@app_job
def send_payout(payout_id: int) -> str:
    """Send an approved payout.

    Manual gateway: moves it to ``processing`` and waits for finance to record the
    reference. Stripe gateway: creates the transfer with idempotency key
    ``payout-<id>`` and marks it paid; a transient error is raised so RQ retries with
    the same key; a refusal marks it failed with Stripe's message.
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
    except TransientGatewayError:
        log.warning("payout %s: transient Stripe error, will retry", payout_id)
        raise
    except GatewayError as exc:
        fail_payout(payout, f"Stripe refused the transfer: {exc}", None)
        return "failed"
    record_transfer(payout, transfer_id)
    log.info("payout %s paid by transfer %s", payout_id, transfer_id)
    return "paid"
