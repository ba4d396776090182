"""Migrations, configuration, health and CLI: what an operator relies on."""

import os
import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from conftest import REPO, TEST_REDIS_URL

from core.accounts.models import User
from core.base.config import ProductionConfig
from core.base.extensions import db
from core.program.models import Tier
from web.app import create_app

ROOT = str(REPO)


def test_single_alembic_head(app):
    """Migrations never fork: exactly one head."""
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def test_models_match_migrations(app):
    """The migrated schema is exactly what the models declare (no forgotten migration)."""
    with app.app_context(), db.engine.connect() as conn:
        mc = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(mc, db.metadata)
    assert diff == []


def test_seed_tiers_are_rows(ctx):
    """The four tiers of rules: "Tiers" exist with their rates in basis points."""
    rows = db.session.execute(db.select(Tier.key, Tier.min_deals, Tier.base_rate_bps,
                                        Tier.referral_rate_bps, Tier.team_override_bps)
                              .order_by(Tier.min_deals)).all()
    assert [tuple(r) for r in rows] == [("starter", 0, 2000, 0, 0), ("active", 3, 2200, 500, 0),
                                        ("performer", 10, 2500, 500, 1000),
                                        ("elite", 25, 3000, 500, 1000)]


def test_production_refuses_to_start_without_secret(monkeypatch):
    """SISO_ENV=production without SECRET_KEY stops with a clear message."""
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY must be set"):
        create_app(ProductionConfig)


@pytest.mark.parametrize(("value", "expected"), [
    (None, None),  # unset: create_app uses REDIS_URL, the same Redis as RQ
    ("", ""),  # set but empty: off
    ("redis://127.0.0.1:6379/5", "redis://127.0.0.1:6379/5"),
])
def test_socketio_message_queue_setting(monkeypatch, value, expected):
    """SOCKETIO_MESSAGE_QUEUE as the README's settings table says: an empty value is
    kept (it turns the queue off), not replaced by the default."""
    from core.base.config import Config

    if value is None:
        monkeypatch.delenv("SOCKETIO_MESSAGE_QUEUE", raising=False)
    else:
        monkeypatch.setenv("SOCKETIO_MESSAGE_QUEUE", value)
    assert Config.from_env()["SOCKETIO_MESSAGE_QUEUE"] == expected


def test_socketio_channel_setting(monkeypatch):
    """SOCKETIO_CHANNEL names the message queue's pub/sub channel (README): Flask-SocketIO's
    own default when unset, so web processes and workers of one deployment agree."""
    from core.base.config import Config

    monkeypatch.delenv("SOCKETIO_CHANNEL", raising=False)
    assert Config.from_env()["SOCKETIO_CHANNEL"] == "flask-socketio"
    monkeypatch.setenv("SOCKETIO_CHANNEL", "siso-staging")
    assert Config.from_env()["SOCKETIO_CHANNEL"] == "siso-staging"


def test_message_queue_pool_and_keepalive_settings():
    """The queue URL gets a pool large enough for a burst of emits under eventlet unless
    it sets one; the Engine.IO keep-alive uses the settings (interval, grace, timeout)."""
    from core.base.config import queue_url
    from core.base.extensions import socketio

    assert queue_url("redis://h:6379/2", 1000) == "redis://h:6379/2?max_connections=1000"
    assert queue_url("redis://h/2?health_check_interval=5", 7) == \
        "redis://h/2?health_check_interval=5&max_connections=7"
    assert queue_url("redis://h/2?max_connections=10000", 7) == "redis://h/2?max_connections=10000"
    assert queue_url("amqp://guest@h//", 7) == "amqp://guest@h//"
    eio = socketio.server.eio
    assert (eio.ping_interval, eio.ping_interval_grace_period, eio.ping_timeout) == (25, 5, 60)


def test_healthz_reports_database_and_redis(client):
    """/healthz answers 200 with both parts ok."""
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_healthz_says_when_redis_is_down(app, client, monkeypatch):
    """With Redis unreachable /healthz answers 503 and names the broken part."""
    from redis import Redis

    # The app's own Redis client swapped for a dead one. (Not a second create_app: the
    # Socket.IO extension is process-wide, and a second app would take over its server
    # from the live test server, whose events would then be dropped silently.)
    monkeypatch.setitem(app.extensions, "siso_redis",
                        Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=2))
    resp = client.get("/healthz")
    assert resp.status_code == 503
    body = resp.get_json()
    assert body["database"] == "ok" and body["redis"].startswith("error")


def _flask(args, db_url, tmp_path, stdin=None):
    env = dict(os.environ, FLASK_APP="wsgi.py", DATABASE_URL=db_url, REDIS_URL=TEST_REDIS_URL,
               STORAGE_DIR=str(tmp_path), SISO_ENV="development", SECRET_KEY="cli-test-secret")
    return subprocess.run([sys.executable, "-m", "flask", *args], cwd=ROOT, env=env,
                          input=stdin, capture_output=True, text=True, timeout=120)


def test_create_staff_cli(app, db_url, tmp_path):
    """`flask create-staff EMAIL --roles ... --password-stdin` makes a staff account;
    a short password or unknown role is refused with a message and creates nothing."""
    ok = _flask(["create-staff", "fran@example.com", "--roles", "finance,support",
                 "--password-stdin"], db_url, tmp_path, "a-long-enough-password\n")
    assert ok.returncode == 0, ok.stderr
    bad = _flask(["create-staff", "x@example.com", "--roles", "finance", "--password-stdin"],
                 db_url, tmp_path, "short\n")
    assert bad.returncode != 0 and "at least 10 characters" in bad.stderr
    bad_role = _flask(["create-staff", "y@example.com", "--roles", "wizard", "--password-stdin"],
                      db_url, tmp_path, "a-long-enough-password\n")
    assert bad_role.returncode != 0 and "Roles must be among" in bad_role.stderr
    with app.app_context():
        staff = db.session.scalars(db.select(User).where(User.is_staff)).all()
        assert [(u.email, u.roles) for u in staff] == [("fran@example.com", "finance,support")]


def test_seed_demo_cli(app, db_url, tmp_path):
    """`flask seed-demo` fills an empty database with 30+ partners in all four tiers, and a
    second run with --if-empty changes nothing."""
    from core.community.models import Channel, Message
    from core.money.models import Commission, Payout
    from core.program.models import Partner
    from core.program.tiers import standing

    first = _flask(["seed-demo"], db_url, tmp_path)
    assert first.returncode == 0, first.stderr
    again = _flask(["seed-demo", "--if-empty"], db_url, tmp_path)
    assert again.returncode == 0 and "not added" in again.stdout
    with app.app_context():
        partners = db.session.scalars(db.select(Partner)).all()
        assert len(partners) >= 30
        assert {standing(p).tier.key for p in partners} == {"starter", "active", "performer",
                                                             "elite"}
        assert any(p.team_leader_id for p in partners)
        assert db.session.scalar(db.select(db.func.count()).select_from(Commission)) > 50
        assert {p.status for p in db.session.scalars(db.select(Payout))} >= {"paid", "requested"}
        assert db.session.scalar(db.select(db.func.count()).select_from(Message)) >= 5
        assert db.session.scalar(db.select(db.func.count()).select_from(Channel)) >= 5
        emails = set(db.session.scalars(db.select(User.email).where(User.is_staff)))
        assert {"admin@example.com", "finance@example.com", "support@example.com"} <= emails
        # the engagement side is not empty on a first look: events (one RSVPed), paths, a pool
        from core.base.timeutil import now_utc
        from core.content.models import LearningPath
        from core.engagement.models import BonusPool
        from core.events.models import Event, EventRsvp

        events = db.session.scalars(db.select(Event)).all()
        assert len(events) == 3 and all(e.starts_at > now_utc() for e in events)
        assert db.session.scalar(db.select(db.func.count()).select_from(EventRsvp)) == 1
        assert db.session.scalar(db.select(db.func.count()).select_from(LearningPath)) == 2
        assert db.session.scalar(db.select(db.func.count()).select_from(BonusPool)) == 1
        lead = db.session.scalar(db.select(Partner).join(User).where(
            User.email == "partner1@example.com"))
        assert (lead.goal_deals, lead.experience_level) == (4, "advanced")
