"""Scheduled jobs: holding-period approvals."""

from core.commissions import approve_due_commissions
from jobs.runtime import app_job


@app_job
def approve_due() -> int:
    """Approve commissions whose holding period ended; returns how many."""
    return approve_due_commissions()
