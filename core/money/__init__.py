"""Money: commissions, the ledger, payouts, Stripe, statements, earnings, exports."""
