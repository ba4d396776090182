"""Flask CLI commands: ``create-staff``, ``seed-demo``, ``seed-reference``, ``approve-due``,
``award-achievements``, ``storage migrate`` and ``worker`` (``jobs.worker``)."""

import os
import sys

import click
from flask import Flask
from flask.cli import AppGroup

from core.base.errors import DomainError
from core.base.extensions import db


def init_app(app: Flask) -> None:
    """Register the CLI commands on ``app``, with ``flask worker`` (``jobs``)."""
    import jobs

    jobs.init_app(app)
    _storage_commands(app)

    @app.cli.command("create-staff")
    @click.argument("email")
    @click.option("--roles", default="admin", help="Comma-separated: admin,finance,support,content")
    @click.option("--name", default=None, help="Display name (defaults to the e-mail's name)")
    @click.option("--password-stdin", is_flag=True, help="Read the password from standard input")
    def create_staff_cmd(email, roles, name, password_stdin):
        """Create a staff account; the password is prompted (or read from stdin)."""
        from core.accounts.users import create_staff

        if password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        try:
            user = create_staff(email, password, name or email.split("@")[0],
                                roles.split(","))
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            raise click.ClickException(exc.message) from None
        click.echo(f"Created staff {user.email} with roles {user.roles}.")

    @app.cli.command("seed-reference")
    def seed_reference_cmd():
        """Insert missing tiers, channels and training modules."""
        from core.seed.demo import seed_reference_data

        seed_reference_data()
        db.session.commit()
        click.echo("Reference data present.")

    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="Do nothing when partners already exist")
    def seed_demo_cmd(if_empty):
        """Create demo staff and partners (password siso-demo-2026 for every account)."""
        from sqlalchemy import select

        from core.program.models import Partner
        from core.seed.demo import seed_demo

        if if_empty and db.session.scalar(select(Partner.id).limit(1)):
            click.echo("Database already has partners; demo data not added.")
            return
        try:
            counts = seed_demo()
        except RuntimeError as exc:
            raise click.ClickException(str(exc)) from None
        db.session.commit()
        click.echo(f"Demo data: {counts}. Log in as admin@example.com / siso-demo-2026.")

    @app.cli.command("approve-due")
    def approve_due_cmd():
        """Approve commissions whose holding period has ended."""
        from core.money.commissions import approve_due_commissions

        n = approve_due_commissions()
        db.session.commit()
        click.echo(f"Approved {n} commissions.")

    @app.cli.command("rotate-keys")
    def rotate_keys_cmd():
        """Re-encrypt every TIN and bank number with the newest FIELD_ENCRYPTION_KEYS key
        (run after putting a new key first; then the old key can be removed)."""
        from core.payments.crypto import rotate_all

        n = rotate_all()
        db.session.commit()
        click.echo(f"Re-encrypted {n} values with the newest key.")

    @app.cli.command("award-achievements")
    def award_achievements_cmd():
        """Run the scheduled achievement checks now (workers run them every tick)."""
        from core.community.achievements import award_scheduled

        result = award_scheduled()
        db.session.commit()
        click.echo(f"Awarded {result['awarded']} achievements"
                   + (f"; Top Performer of {result['top_performer_month']} decided."
                      if result["top_performer_month"] else "."))

    @app.cli.command("api-docs")
    def api_docs_cmd():
        """Write docs/chat-events.md from the chat's event models (the AsyncAPI
        document's source); a test fails while the file is out of date."""
        from api.asyncapi import document, markdown
        from core.base.config import ROOT

        path = ROOT / "docs" / "chat-events.md"
        path.write_text(markdown(document(app.config["PUBLIC_BASE_URL"])), encoding="utf-8")
        click.echo(f"Wrote {path.relative_to(ROOT)}.")


def _storage_commands(app: Flask) -> None:
    """``flask storage migrate``."""
    storage = AppGroup("storage", help="The file store (STORAGE_URL).")

    @storage.command("migrate")
    @click.option("--source", default=None,
                  help="Local folder to copy from (default: STORAGE_DIR)")
    @click.option("--to", "target", default=None,
                  help="Store to copy into, file:///... or s3://bucket/prefix "
                       "(default: STORAGE_URL)")
    def storage_migrate(source, target):
        """Copy a local storage folder into the store, key for key. Resumable: files the
        store already holds (same size) are skipped, so run it again after a stop."""
        from core.ops.storage import get_storage, migrate_folder, storage_from_url

        source = source or app.config["STORAGE_DIR"]
        store = storage_from_url(target) if target else get_storage()
        if store.scheme == "file" and os.path.abspath(store.root) == os.path.abspath(source):
            raise click.ClickException("The source folder is the store itself: set "
                                       "STORAGE_URL or --to to the bucket.")
        done = migrate_folder(source, store, log=lambda key: click.echo(f"copied {key}"))
        click.echo(f"{done['copied']} copied ({done['bytes']} bytes), "
                   f"{done['skipped']} already there.")

    app.cli.add_command(storage)
