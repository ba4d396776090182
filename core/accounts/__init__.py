"""Accounts: users, passwords, API tokens and keys, two-factor, e-mail links."""
