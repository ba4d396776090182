"""Payout gateways: manual (finance records the reference) and Stripe Connect transfers.

docs/architecture.md: ``STRIPE_API_KEY`` set → Stripe Connect transfers
(``STRIPE_API_BASE`` points the client at a test server); unset → manual payouts.
"""

from flask import current_app


class GatewayError(Exception):
    """A transfer failed for good (Stripe refused it); ``message`` is Stripe's text."""


class TransientGatewayError(Exception):
    """A transfer may succeed if retried with the same idempotency key (429/5xx/timeout)."""


def stripe_client():
    """Return a ``stripe.StripeClient`` for the configured key and base URL; an answer
    slower than ``STRIPE_TIMEOUT_SECONDS`` is a timeout, which the library retries (twice,
    same idempotency key) before it raises."""
    import stripe

    kwargs = {}
    base = current_app.config.get("STRIPE_API_BASE")
    if base:
        kwargs["base_addresses"] = {"api": base}
    timeout = current_app.config.get("STRIPE_TIMEOUT_SECONDS") or 30
    return stripe.StripeClient(current_app.config["STRIPE_API_KEY"], max_network_retries=2,
                               http_client=stripe.RequestsClient(timeout=timeout), **kwargs)


def stripe_transfer(amount_cents: int, currency: str, destination: str, payout_id: int) -> str:
    """Create one Stripe Transfer with idempotency key ``payout-<id>``; returns its id.

    Raises ``TransientGatewayError`` on 429, 5xx and connection errors (retry keeps the
    key), ``GatewayError`` on any other refusal.
    """
    import stripe

    try:
        transfer = stripe_client().v1.transfers.create(
            params={"amount": amount_cents, "currency": currency.lower(),
                    "destination": destination, "metadata": {"payout_id": str(payout_id)}},
            options={"idempotency_key": f"payout-{payout_id}"})
    except (stripe.RateLimitError, stripe.APIConnectionError) as exc:
        raise TransientGatewayError(str(exc)) from exc
    except stripe.StripeError as exc:
        if (exc.http_status or 0) >= 500:
            raise TransientGatewayError(str(exc)) from exc
        raise GatewayError(exc.user_message or str(exc)) from exc
    return transfer.id
