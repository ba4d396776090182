"""Outbound webhooks: the endpoints admins register, the signed deliveries of the
program's events to them, their attempts and retries."""
