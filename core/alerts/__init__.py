"""Alerts: notification preferences per kind and channel, lead follow-up reminders and
performance alerts (coaching nudges). Web push sending lives in ``core.community.push``."""
