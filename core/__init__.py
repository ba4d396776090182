"""SISO Partners' core: the partner program's rules, in feature packages
(docs/architecture.md). ``core`` imports no face (``portal``, ``admin``, ``api``) and
neither ``web`` nor ``jobs``."""

#: Every package's models, imported together so that relationships between them resolve.
MODEL_MODULES = ("core.base.models", "core.accounts.models", "core.program.models",
                 "core.money.models", "core.community.models", "core.content.models",
                 "core.support.models", "core.payments.models", "core.webhooks.models",
                 "core.engagement.models", "core.events.models", "core.alerts.models")


def load_models() -> None:
    """Import every package's models (``MODEL_MODULES``); call before the first query."""
    import importlib

    for name in MODEL_MODULES:
        importlib.import_module(name)
