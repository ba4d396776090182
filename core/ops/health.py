"""Liveness and readiness of a process (rules: "Health checks").

``/livez`` says the process answers; ``/readyz`` runs :func:`readiness`: the database
answers and is migrated to the head revision, file storage answers (both fatal: a node
that fails them must not get traffic), and Redis (reported, never fatal: pages, the API
and the outbox keep working without it, so a Redis outage must not pull every node out of
a load balancer at once).
"""

import functools
import time

from sqlalchemy import text

from core.base.config import ROOT


@functools.lru_cache(maxsize=1)
def migration_heads() -> frozenset[str]:
    """The head revision(s) of ``migrations/versions`` (read once per process)."""
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    return frozenset(ScriptDirectory.from_config(cfg).get_heads())


def _timed(check) -> dict:
    """Run ``check`` (returns extra fields or None); returns ``{"ok", "ms", ...}`` with
    ``error`` (the exception's class and first line) when it raised."""
    start = time.perf_counter()
    try:
        extra = check() or {}
        out = {"ok": True, **extra}
    except Exception as exc:  # a probe reports, it never crashes
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        out = {"ok": False, "error": f"{exc.__class__.__name__}: {first}".rstrip(": ")}
    out["ms"] = round((time.perf_counter() - start) * 1000, 1)
    return out


def _database() -> None:
    from core.base.extensions import db

    try:
        db.session.execute(text("SELECT 1"))
    finally:
        db.session.rollback()


def _migrations() -> dict:
    from core.base.extensions import db

    try:
        current = set(db.session.scalars(text("SELECT version_num FROM alembic_version")))
    finally:
        db.session.rollback()
    heads = migration_heads()
    if current != heads:
        raise RuntimeError(f"database at {sorted(current) or 'no revision'}, "
                           f"code expects {sorted(heads)}")
    return {"revision": ",".join(sorted(current))}


def _storage() -> dict:
    from core.ops.storage import get_storage

    store = get_storage()
    store.check()
    return {"backend": store.scheme}


def _redis() -> None:
    from core.base.jobs import redis_connection

    redis_connection().ping()


#: Checks a node cannot serve without (503 when one fails), then the reported ones.
FATAL = ("database", "migrations", "storage")
CHECKS = {"database": _database, "migrations": _migrations, "storage": _storage,
          "redis": _redis}


def readiness() -> tuple[bool, dict]:
    """Run every check in an app context.

    Returns ``(ready, body)``: ``ready`` is False when a fatal check failed (the
    migrations check is skipped, and failed, when the database does not answer);
    ``body`` is ``{"status": "ready" | "not ready", "checks": {name: {"ok", "ms",
    "fatal", "error"?...}}}`` (rules: "Health checks")."""
    checks = {}
    for name, fn in CHECKS.items():
        if name == "migrations" and not checks["database"]["ok"]:
            checks[name] = {"ok": False, "error": "skipped: database unreachable", "ms": 0.0}
        else:
            checks[name] = _timed(fn)
        checks[name]["fatal"] = name in FATAL
    ready = all(checks[n]["ok"] for n in FATAL)
    return ready, {"status": "ready" if ready else "not ready", "checks": checks}
