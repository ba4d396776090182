"""Payouts: request, approve, transfer, record, fail (rules: "Payouts").

Every state change is a compare-and-set ``UPDATE ... WHERE status = <expected>``, so two
clicks, two sessions or a retried job move a payout at most once.
"""

import logging
from datetime import timedelta

from sqlalchemy import exists, func, select, update

from core.accounts.models import User
from core.base.audit import audit, audit_refusal
from core.base.errors import Conflict, Forbidden, NotFound, ValidationError
from core.base.extensions import db, get_row, is_row_id
from core.base.jobs import (
    QUEUE_DEFAULT,
    QUEUE_PAYOUTS,
    TICK_SECONDS,
    get_queue,
    job,
    job_logger,
    last_try,
    release_if_overdue,
)
from core.base.models import Setting
from core.base.timeutil import now_utc
from core.community.notifications import notify
from core.money.cents import format_cents
from core.money.gateways import GatewayError, TransientGatewayError, stripe_transfer
from core.money.models import Commission, Payout, PayoutTransfer
from core.payments.methods import payout_route, paypal_offered
from core.payments.tax import TaxFormMissing, require_tax_form
from core.program.models import Partner
from core.webhooks.events import emit

log = logging.getLogger(__name__)

#: Payout states in which a payout is still waiting to be paid (one per partner at a time).
WAITING = ("requested", "approved", "processing")

#: Default minimum payout in cents ($50, rules: "Payouts"), editable as setting ``payout_minimum_cents``.
DEFAULT_MINIMUM_CENTS = 5000

#: RQ retries of the transfer job after its first run (back-off 5 s, 30 s, 120 s); a
#: transient Stripe error on the last run fails the payout (``core.money.payouts.send_payout``).
PAYOUT_JOB_RETRIES = 3

#: How long after approval a processing payout may still be sent to Stripe again with its
#: idempotency key ``payout-<id>``. Stripe forgets keys after 24 hours, so a later retry
#: could make a second transfer; past this window the payout is failed for finance to
#: check instead (``unfinished_transfers``).
TRANSFER_RETRY_WINDOW = timedelta(hours=12)


def payout_minimum_cents() -> int:
    """The minimum payout in cents (setting ``payout_minimum_cents``, default 5000)."""
    row = db.session.get(Setting, "payout_minimum_cents")
    return int(row.value) if row else DEFAULT_MINIMUM_CENTS


def set_payout_minimum(cents, actor_id: int) -> int:
    """Set the minimum payout (cents, 0..$1,000), audited. Raises ``ValidationError``."""
    if isinstance(cents, bool) or not isinstance(cents, int) or not 0 <= cents <= 100_000:
        raise ValidationError("The minimum payout must be from $0 to $1,000, in cents.")
    row = db.session.get(Setting, "payout_minimum_cents")
    before = payout_minimum_cents()
    if row is None:
        row = Setting(key="payout_minimum_cents", value=str(cents))
        db.session.add(row)
    row.value = str(cents)
    audit(actor_id, "setting.payout_minimum", "setting", None,
          {"payout_minimum_cents": before}, {"payout_minimum_cents": cents})
    return cents


def four_eyes_required() -> bool:
    """Whether the four-eyes rule is on (setting ``payout_four_eyes``, default off): the
    person who approves a payout must not be the one who created it (rules: "Payouts")."""
    row = db.session.get(Setting, "payout_four_eyes")
    return row is not None and row.value == "1"


def set_four_eyes(on: bool, actor_id: int) -> bool:
    """Turn the four-eyes rule on or off (finance), audited ``setting.payout_four_eyes``.
    Returns the new value. Raises ``ValidationError`` unless ``on`` is a bool."""
    if not isinstance(on, bool):
        raise ValidationError("The four-eyes setting is on or off.")
    before = four_eyes_required()
    row = db.session.get(Setting, "payout_four_eyes")
    if row is None:
        row = Setting(key="payout_four_eyes", value="0")
        db.session.add(row)
    row.value = "1" if on else "0"
    if before != on:
        audit(actor_id, "setting.payout_four_eyes", "setting", None,
              {"payout_four_eyes": before}, {"payout_four_eyes": on})
    return on


def available_cents(partner_id: int) -> int:
    """Approved commissions not yet in a payout, netted with negative adjustments (cents)."""
    return db.session.scalar(select(func.coalesce(func.sum(Commission.amount_cents), 0)).where(
        Commission.partner_id == partner_id, Commission.status == "approved",
        Commission.payout_id.is_(None))) or 0


def _cas(payout_id: int, expected: tuple[str, ...], **values) -> bool:
    res = db.session.execute(update(Payout).where(
        Payout.id == payout_id, Payout.status.in_(expected)).values(**values))
    return res.rowcount == 1


def create_payout(partner_id, actor_id: int) -> Payout:
    """Gather a partner's approved, unpaid commissions into a ``requested`` payout.

    Used by the partner's "request payout" and by finance. The amount is the sum of the
    commissions claimed by a conditional UPDATE, so two requests at once cannot claim the
    same commission. The payout takes the partner's payout method now and keeps it
    (``core.payments.methods.payout_route``; rules: "Payout methods"). Raises
    ``NotFound``, ``Conflict`` (suspended/applied partner, or an open payout exists;
    ``TaxFormMissing`` 409 ``tax_form_missing``/``tax_form_expired``, rules: "Tax
    gate"), ``ValidationError`` (balance below the minimum).
    """
    partner = get_row(Partner, partner_id)
    if partner is None:
        raise NotFound("No such partner.")
    if partner.status != "active":
        raise Conflict(f"The partner is {partner.status}; payouts need an active partner.")
    waiting = db.session.scalar(select(Payout).where(
        Payout.partner_id == partner.id, Payout.status.in_(WAITING)).limit(1))
    if waiting is not None:
        raise Conflict(f"A payout of {format_cents(waiting.amount_cents)} is already "
                       f"{waiting.status}; request the next one once it is paid or failed.")
    require_tax_form(partner)
    minimum = payout_minimum_cents()
    balance = available_cents(partner.id)
    if balance < minimum:
        raise ValidationError(
            f"The approved balance is {format_cents(balance)}; the minimum payout is "
            f"{format_cents(minimum)}.", code="below_minimum")
    gateway, payee = payout_route(partner)
    payout = Payout(partner_id=partner.id, amount_cents=balance, status="requested",
                    requested_by_id=actor_id, gateway=gateway, payee=payee[:254])
    db.session.add(payout)
    db.session.flush()
    claimed = db.session.execute(update(Commission).where(
        Commission.partner_id == partner.id, Commission.status == "approved",
        Commission.payout_id.is_(None)).values(payout_id=payout.id)
        .returning(Commission.amount_cents)).scalars().all()
    total = sum(claimed)
    if total != balance:
        raise Conflict("The balance changed while the payout was being made; try again.")
    audit(actor_id, "payout.request", "payout", payout.id, None,
          {"partner_id": partner.id, "amount_cents": total, "commissions": len(claimed)})
    return payout


def request_payout(partner: Partner, user: User) -> Payout:
    """A partner asks for a payout of their own approved balance (portal page and API).

    Needs a verified e-mail address (``EmailNotVerified``, 403: rules: "E-mail",
    unverified partners move no money), then the rules of :func:`create_payout` (its
    ``NotFound``, ``Conflict``, ``ValidationError``). Returns the ``requested`` payout.
    Finance creating payouts (one partner or the batch) is not a partner request and is
    not gated on the address.
    """
    from core.accounts.email_links import require_verified_email

    require_verified_email(user, "request a payout")
    return create_payout(partner.id, user.id)


def create_payouts_for_all(actor_id: int) -> list[Payout]:
    """Finance's batch: one payout for every active partner whose approved balance reaches
    the minimum and who has no payout waiting; partners the tax gate holds are skipped.
    Returns the payouts made (may be empty)."""
    minimum = payout_minimum_cents()
    candidates = db.session.execute(
        select(Commission.partner_id, func.sum(Commission.amount_cents))
        .join(Partner, Partner.id == Commission.partner_id)
        .where(Commission.status == "approved", Commission.payout_id.is_(None),
               Partner.status == "active",
               ~exists().where(Payout.partner_id == Commission.partner_id,
                               Payout.status.in_(WAITING)))
        .group_by(Commission.partner_id)
        .having(func.sum(Commission.amount_cents) >= minimum)).all()
    made = []
    for partner_id, _ in candidates:
        try:
            made.append(create_payout(partner_id, actor_id))
        except TaxFormMissing:  # held until their tax form is verified (rules: "Tax gate")
            continue
    return made


def get_payout(payout_id) -> Payout:
    """Return the payout or raise ``NotFound``."""
    payout = get_row(Payout, payout_id)
    if payout is None:
        raise NotFound("No such payout.")
    return payout


def approve_payout(payout_id, actor: User, send: bool = True) -> Payout:
    """Approve a requested payout (finance only) and enqueue its transfer after commit.

    Args: ``payout_id`` (int), ``actor`` the finance ``User``. Returns the ``Payout``
    (status ``approved``). Raises ``Forbidden`` (not finance, or the actor's own payout;
    403 ``four_eyes`` when the four-eyes rule is on and the actor created the payout),
    ``NotFound``, ``Conflict`` (not ``requested``: approving twice is refused, never paid
    twice; the partner not active; ``TaxFormMissing`` without a verified, unexpired tax
    form, rules: "Tax gate"), ``ValidationError`` (below the minimum, no payout
    method). Every refusal
    leaves a ``payout.approve.refused`` audit row that survives the request's rollback
    (``core.base.audit.audit_refusal``; rules: "Bad input"). Rule: rules: "Payouts"
    ("Only finance approves").
    """
    def refuse(why: str, pid, **details) -> None:
        audit_refusal(actor.id, "payout.approve.refused", "payout", pid, why, details)

    if not actor.has_role("finance"):
        refuse("role", payout_id if is_row_id(payout_id) else None)
        raise Forbidden("Only finance can approve payouts.")
    payout = get_payout(payout_id)
    if payout.partner.user_id == actor.id:
        refuse("own payout", payout.id)
        raise Forbidden("You cannot approve your own payout.")
    if payout.requested_by_id == actor.id and four_eyes_required():
        refuse("four eyes", payout.id)
        raise Forbidden(f"Four-eyes rule: you created payout #{payout.id}, so someone else "
                        "in finance must approve it.", code="four_eyes")
    if payout.partner.status != "active":
        refuse("partner status", payout.id, partner_status=payout.partner.status)
        raise Conflict(f"The partner is {payout.partner.status}; reactivate them before "
                       "paying them.", code="partner_not_active")
    minimum = payout_minimum_cents()
    if payout.amount_cents < minimum:
        refuse("below minimum", payout.id, amount_cents=payout.amount_cents,
               minimum_cents=minimum)
        raise ValidationError(f"This payout of {format_cents(payout.amount_cents)} is below "
                              f"the minimum payout of {format_cents(minimum)}.",
                              code="below_minimum")
    if payout.gateway == "stripe" and not (payout.partner.stripe_account_id
                                           and payout.partner.stripe_payouts_enabled):
        refuse("no payout method", payout.id)
        raise ValidationError("The partner has no payout method yet: their Stripe onboarding "
                              "is not finished.", code="no_payout_method")
    if payout.gateway == "paypal" and not paypal_offered():
        refuse("no payout method", payout.id)
        raise ValidationError("This payout goes through PayPal, which is not configured "
                              "(PAYPAL_CLIENT_ID).", code="no_payout_method")
    try:
        require_tax_form(payout.partner)
    except TaxFormMissing as exc:
        refuse("tax form", payout.id, code=exc.code)
        raise
    if not _cas(payout.id, ("requested",), status="approved", approved_by_id=actor.id,
                approved_at=now_utc()):
        db.session.refresh(payout)
        refuse("state", payout.id, status=payout.status)
        raise Conflict(f"This payout is {payout.status}; only requested payouts can be approved.")
    db.session.refresh(payout)
    audit(actor.id, "payout.approve", "payout", payout.id, {"status": "requested"},
          {"status": "approved"})
    emit("payout.approved", payout)
    if send:
        send_payout.after_commit(payout.id, job_id=f"payout-{payout.id}")
    return payout


def queue_transfers(approved: list[Payout]) -> dict:
    """Queue the money of an approval run (payouts approved with ``send=False``), after
    the commit: the PayPal ones in one batch per 15,000 (membership written now,
    ``core.payments.paypal.plan_batches``; one job ``paypal-<key>``), the others one
    transfer job each. Returns ``{"paypal_batches": [keys], "single": int}``."""
    from core.payments.paypal import plan_batches, send_paypal_batch

    paypal = [p for p in approved if p.gateway == "paypal"]
    keys = plan_batches(paypal) if paypal else []
    for key in keys:
        send_paypal_batch.after_commit(key, job_id=f"paypal-{key}")
    others = [p for p in approved if p.gateway != "paypal"]
    for p in others:
        send_payout.after_commit(p.id, job_id=f"payout-{p.id}")
    return {"paypal_batches": keys, "single": len(others)}


def start_transfer(payout_id: int) -> Payout | None:
    """Move an approved payout to ``processing`` (the job's first step).

    Returns the payout, or ``None`` when another run already moved it (then the caller
    checks ``processing`` to resume a crashed transfer with the same idempotency key).
    """
    if _cas(payout_id, ("approved",), status="processing"):
        audit(None, "payout.processing", "payout", payout_id, {"status": "approved"},
              {"status": "processing"})
        return db.session.get(Payout, payout_id)
    return None


def record_transfer(payout: Payout, transfer_id: str) -> PayoutTransfer:
    """Store the one transfer of a payout (unique per payout) and mark the payout paid."""
    row = db.session.scalar(select(PayoutTransfer).where(PayoutTransfer.payout_id == payout.id))
    if row is None:
        row = PayoutTransfer(payout_id=payout.id, idempotency_key=f"payout-{payout.id}",
                             transfer_id=transfer_id, amount_cents=payout.amount_cents)
        db.session.add(row)
    _settle(payout, transfer_id, None)
    return row


def mark_paid(payout: Payout, reference, actor_id: int | None) -> Payout:
    """Record a manual payment: mark an approved or processing ``manual`` or
    ``bank_transfer`` payout paid with the reference finance gives (bank wire id...). Its
    commissions become ``paid``.

    A ``stripe`` payout is refused: only its transfer marks it paid (``record_transfer``),
    so a payment recorded by hand can never sit beside a transfer. Raises
    ``ValidationError`` (no reference), ``Conflict`` (Stripe or PayPal gateway, wrong
    state).
    """
    if not isinstance(reference, str) or not reference.strip() or len(reference) > 120:
        raise ValidationError("Enter the payment reference (up to 120 characters).")
    if payout.gateway == "stripe":
        raise Conflict("This payout goes through Stripe: its transfer marks it paid, so a "
                       "manual payment cannot be recorded.", code="stripe_gateway")
    if payout.gateway == "paypal":
        raise Conflict("This payout goes through PayPal: PayPal's answer marks it paid, so "
                       "a manual payment cannot be recorded.", code="paypal_gateway")
    return _settle(payout, reference, actor_id)


def _settle(payout: Payout, reference: str, actor_id: int | None) -> Payout:
    """Move an approved or processing payout to ``paid`` (compare-and-set), its
    commissions with it; audited, and the partner is notified."""
    if not isinstance(reference, str) or not reference.strip() or len(reference) > 120:
        raise ValidationError("Enter the payment reference (up to 120 characters).")
    now = now_utc()
    if not _cas(payout.id, ("approved", "processing"), status="paid", paid_at=now,
                reference=reference.strip()):
        db.session.refresh(payout)
        audit_refusal(actor_id, "payout.paid.refused", "payout", payout.id, "state",
                      {"status": payout.status})
        raise Conflict(f"This payout is {payout.status}; it cannot be marked paid.")
    db.session.execute(update(Commission).where(Commission.payout_id == payout.id,
                                                Commission.status == "approved")
                       .values(status="paid", paid_at=now))
    db.session.refresh(payout)
    audit(actor_id, "payout.paid", "payout", payout.id, None,
          {"status": "paid", "reference": reference.strip()})
    emit("payout.paid", payout)
    notify(payout.partner.user_id, "payout", f"Payout sent: {format_cents(payout.amount_cents)}",
           f"Reference {reference.strip()}", "/partner/earnings")
    return payout


def fail_payout(payout: Payout, message: str, actor_id: int | None) -> Payout:
    """Mark a waiting payout failed with a message; its commissions return to the balance.

    Args: ``payout``; ``message`` the readable reason shown to finance and the partner
    (stored up to 2,000 characters); ``actor_id`` or ``None`` for the system. Its
    approved commissions leave the payout (available again), the partner is notified,
    an audit row is written. Returns the payout. Raises ``Conflict`` (already paid,
    failed or reversed; a refusal audit row is kept). Rule: rules: "Payouts" (a failed payout's
    commissions go back in the balance).
    """
    if not _cas(payout.id, ("requested", "approved", "processing"), status="failed",
                failed_at=now_utc(), failure_message=message[:2000]):
        db.session.refresh(payout)
        audit_refusal(actor_id, "payout.failed.refused", "payout", payout.id, "state",
                      {"status": payout.status})
        raise Conflict(f"This payout is {payout.status}; it cannot fail now.")
    db.session.execute(update(Commission).where(Commission.payout_id == payout.id,
                                                Commission.status == "approved")
                       .values(payout_id=None))
    db.session.refresh(payout)
    audit(actor_id, "payout.failed", "payout", payout.id, None,
          {"status": "failed", "message": message[:500]})
    emit("payout.failed", payout)
    notify(payout.partner.user_id, "payout", "Payout failed",
           f"{message[:300]} The amount is back in your balance.", "/partner/earnings")
    return payout


def requested_totals() -> tuple[int, int]:
    """The approval queue: ``(count, total cents)`` of payouts in ``requested``."""
    row = db.session.execute(
        select(func.count(), func.coalesce(func.sum(Payout.amount_cents), 0))
        .where(Payout.status == "requested")).one()
    return int(row[0]), int(row[1])


def retried_as(payout_id: int) -> int | None:
    """The id of the payout that retried this failed one, or ``None``."""
    import json

    from core.base.models import AuditLog

    after = db.session.scalar(select(AuditLog.after).where(
        AuditLog.action == "payout.retry", AuditLog.object_type == "payout",
        AuditLog.object_id == payout_id).limit(1))
    return json.loads(after)["retry_id"] if after else None


def retry_payout(payout_id, actor: User) -> Payout:
    """Retry a failed payout (finance): a new payout of the partner's approved balance,
    approved at once, its transfer queued after commit; under the four-eyes rule it is
    left ``requested`` for someone else in finance to approve (rules: "Payouts").

    A failed payout moved no money and its commissions went back to the balance, so the
    retry is a *new* payout that claims them again, with its own idempotency key
    ``payout-<new id>`` (the rule of every payout: one transfer per payout, ever).
    Re-sending the failed one under its old key would replay Stripe's stored refusal,
    and could pay commissions a newer payout already holds. The amount is the balance
    now (more may have been approved since, some reversed). Each failed payout is
    retried at most once (audited ``payout.retry`` on it, naming the new payout).

    Raises ``Forbidden`` (not finance, the actor's own payout), ``NotFound``,
    ``Conflict`` (not failed, already retried, a payout already waiting),
    ``ValidationError`` (balance below the minimum, no Stripe payout method).
    """
    if not actor.has_role("finance"):
        raise Forbidden("Only finance can retry payouts.")
    old = get_payout(payout_id)
    if old.status != "failed":
        raise Conflict(f"This payout is {old.status}; only failed payouts can be retried.")
    again = retried_as(old.id)
    if again is not None:
        raise Conflict(f"Payout #{old.id} was already retried as payout #{again}.")
    new = create_payout(old.partner_id, actor.id)
    if not four_eyes_required():  # otherwise it waits, requested, for a second person
        approve_payout(new.id, actor)
    audit(actor.id, "payout.retry", "payout", old.id, None,
          {"retry_id": new.id, "amount_cents": new.amount_cents})
    return new


def fail_unconfirmed_transfer(payout: Payout, detail: str) -> Payout:
    """Give up on a Stripe transfer we could not confirm (Stripe kept answering 429/5xx
    or timing out past every retry, or the job was lost for too long).

    The payout becomes ``failed`` by ``fail_payout`` (its commissions back in the balance,
    the partner notified, audited) with a message that says what happened and tells
    finance to look for the transfer in Stripe before paying again (a timed-out request
    may still have been carried out). ``detail`` is the last error or the reason (text).
    Returns the payout. Raises ``Conflict`` when it is no longer waiting.
    Rule: rules: "Payouts" (failures leave the payout ``failed`` with Stripe's
    message and its commissions back in the balance).
    """
    if payout.gateway == "paypal":
        message = (f"PayPal did not confirm the payout: {detail.strip()[:600]} "
                   f"Finance: look for batch payout-{payout.id} in PayPal before paying "
                   "this amount again.")
    else:
        message = (f"Stripe did not confirm the transfer: {detail.strip()[:600]} "
                   f"Finance: check the Stripe dashboard for a transfer with idempotency "
                   f"key payout-{payout.id} before paying this amount again.")
    return fail_payout(payout, message, None)


def unfinished_transfers(now=None) -> tuple[list[int], list[int]]:
    """Stripe payouts still waiting for their transfer, and PayPal payouts whose batch
    was never confirmed made, for the sweeper (a PayPal payout with a batch waits for
    PayPal's answer: ``core.payments.paypal.poll_paypal_payouts``).

    Returns ``(resume, expired)``, lists of payout ids: ``resume`` are ``approved``
    payouts (never sent: the job moves them to ``processing`` before calling Stripe) and
    ``processing`` ones approved less than ``TRANSFER_RETRY_WINDOW`` ago, which may be
    sent again with the same idempotency key; ``expired`` are ``processing`` payouts
    older than that, which must not be retried (Stripe's key may have expired). Payouts
    approved in the last 2 minutes are left to their own job. Whether a job is still
    alive for them is the caller's (RQ's) business.
    """
    now = now or now_utc()
    batched = select(PayoutTransfer.payout_id).where(PayoutTransfer.transfer_id != "")
    rows = db.session.execute(select(Payout.id, Payout.status, Payout.approved_at).where(
        Payout.status.in_(("approved", "processing")),
        (Payout.gateway == "stripe") | ((Payout.gateway == "paypal")
                                        & Payout.id.not_in(batched)),
        Payout.approved_at < now - timedelta(minutes=2)).order_by(Payout.id)).all()
    resume, expired = [], []
    for pid, status, approved_at in rows:
        if status == "processing" and approved_at < now - TRANSFER_RETRY_WINDOW:
            expired.append(pid)
        else:
            resume.append(pid)
    return resume, expired


# --- the transfer job and its sweeper ---------------------------------------------------

@job(queue=QUEUE_PAYOUTS, timeout=180, retries=PAYOUT_JOB_RETRIES)
def send_payout(payout_id: int) -> str:
    """Send an approved payout.

    Manual and bank-transfer gateways: moves it to ``processing`` and waits for finance
    to record the reference. PayPal: one batch ``payout-<id>`` (``_send_paypal``); the
    payout stays ``processing`` until PayPal reports the item. Stripe gateway: creates the transfer with idempotency key
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
    if payout.gateway == "paypal":
        return _send_paypal(payout)
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
        if last_try():
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


def _send_paypal(payout: Payout) -> str:
    """The PayPal branch of :func:`send_payout`: one batch ``payout-<id>``; a transient
    error is raised for RQ to retry with the same ids, and on the last try the payout is
    failed visibly (commissions back in the balance) with a message for finance."""
    from core.payments.paypal import fail_unconfirmed_batch, send_paypal_payout

    try:
        return send_paypal_payout(payout)
    except TransientGatewayError as exc:
        if last_try():
            log.error("payout %s: PayPal still failing after the last retry: %s",
                      payout.id, exc)
            row = db.session.scalar(select(PayoutTransfer).where(
                PayoutTransfer.payout_id == payout.id))
            fail_unconfirmed_batch(row.batch_key if row and row.batch_key
                                   else f"payout-{payout.id}", str(exc))
            db.session.refresh(payout)
            return payout.status
        log.warning("payout %s: transient PayPal error, will retry", payout.id)
        raise


@job(queue=QUEUE_DEFAULT, every=TICK_SECONDS)
def sweep_payouts() -> dict:
    """Resume Stripe payouts whose transfer job is gone (Redis was down at approval, the
    worker died mid-job), within bounds (``core.money.payouts.unfinished_transfers``):

    - an ``approved`` payout (never sent) or a ``processing`` one younger than
      ``TRANSFER_RETRY_WINDOW`` with no live job is enqueued again (same job id, same
      retries, same idempotency key);
    - a ``processing`` payout older than that with no live job is failed with a message
      telling finance to check Stripe (``fail_unconfirmed_transfer``), never resent.

    A payout whose job is queued, scheduled for a retry or running is left alone.
    Returns ``{"enqueued": int, "failed": int}``.
    """
    resume, expired = unfinished_transfers()
    q = get_queue(QUEUE_PAYOUTS)

    def job_alive(pid: int) -> bool:
        job = q.fetch_job(f"payout-{pid}")
        if job is None:
            return False
        status = job.get_status(refresh=True)
        if status == "scheduled" and release_if_overdue(q, job):
            return True  # it was stuck waiting for a scheduler; it is queued now
        return status not in ("finished", "failed", "canceled", "stopped")

    hours = TRANSFER_RETRY_WINDOW.total_seconds() / 3600
    enqueued = failed = 0
    for pid in expired:
        if job_alive(pid):
            continue
        payout = db.session.get(Payout, pid)
        try:
            fail_unconfirmed_transfer(payout, "no answer from Stripe was recorded within "
                                              f"{hours:g} hours of approval.")
        except Conflict:  # it moved on meanwhile
            continue
        db.session.commit()
        failed += 1
    for pid in resume:
        if job_alive(pid):
            continue
        send_payout.enqueue(pid, job_id=f"payout-{pid}")
        enqueued += 1
    return {"enqueued": enqueued, "failed": failed}
