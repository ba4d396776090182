"""Payout methods (Stripe Connect, PayPal, bank transfer), tax forms (W-9, W-8BEN,
W-8BEN-E) and PayPal Payouts: what must be known about a partner before money moves."""
