"""E-mail: rendering a message from its templates and sending it (rules: "E-mail").

Every e-mail has a plain-text part and an HTML part, made from
``templates/email/<name>.txt`` and ``templates/email/<name>.html`` (the HTML one is
autoescaped, so a partner's name or a ticket reply shows as text, never as markup). The
subject is the first line of the text template's ``subject`` block. Mail is sent only by
RQ jobs (jobs/email.py), never inside a web request.

Where it goes is Flask-Mailman's ``MAIL_BACKEND`` (core/config.py ``mail_settings``): SMTP
when ``MAIL_SERVER`` is set, otherwise :class:`OutboxEmailBackend`, which writes each
message to ``STORAGE_DIR/outbox/*.eml`` (open it in any mail program or text editor) and
to the log.
"""

import logging
import os
import re
import uuid

from flask import current_app
from flask_mailman import EmailMultiAlternatives
from flask_mailman.backends.base import BaseEmailBackend

from core.base.timeutil import now_utc

log = logging.getLogger(__name__)

#: Folder under ``STORAGE_DIR`` that the outbox backend writes to.
OUTBOX_DIR = "outbox"
_LINE_BREAKS = re.compile(r"[\r\n]+")


def outbox_path() -> str:
    """The outbox folder of the current app (``STORAGE_DIR/outbox``); may not exist yet."""
    return os.path.join(current_app.config["STORAGE_DIR"], OUTBOX_DIR)


def public_url(path: str) -> str:
    """An absolute link for an e-mail: ``PUBLIC_BASE_URL`` + ``path`` (a path from "/").

    Links never come from a request's Host header, which the client controls."""
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + path


def render_email(template: str, **context) -> tuple[str, str, str]:
    """Render ``templates/email/<template>.txt`` and ``.html`` with ``context``.

    Returns ``(subject, text, html)``. The subject is the text template's ``subject``
    block, on one line (line breaks in a partner's text cannot add mail headers). The
    templates are rendered without the portal's context processors (no request in a job).
    Raises ``jinja2.TemplateNotFound`` for an unknown ``template``.
    """
    env = current_app.jinja_env
    context.setdefault("base_url", current_app.config["PUBLIC_BASE_URL"].rstrip("/"))
    text_tpl = env.get_template(f"email/{template}.txt")
    subject = "".join(text_tpl.blocks["subject"](text_tpl.new_context(context))).strip()
    text = text_tpl.render(**context)
    html = env.get_template(f"email/{template}.html").render(subject=subject, **context)
    return _LINE_BREAKS.sub(" ", subject)[:200], text, html


def send_email(to: str, template: str, **context) -> None:
    """Render the e-mail ``template`` (:func:`render_email`) and send it to the address ``to``
    from ``MAIL_DEFAULT_SENDER``, through the configured backend.

    Raises what the backend raises (``smtplib.SMTPException``, ``OSError``): the calling
    job fails and RQ retries it.
    """
    subject, text, html = render_email(template, **context)
    msg = EmailMultiAlternatives(subject=subject, body=text, to=[to],
                                 from_email=current_app.config["MAIL_DEFAULT_SENDER"])
    msg.attach_alternative(html, "text/html")
    msg.send(fail_silently=False)


class OutboxEmailBackend(BaseEmailBackend):
    """Flask-Mailman backend for development and tests: each message becomes one file
    ``STORAGE_DIR/outbox/<UTC time>-<random>.eml`` (RFC 5322, both parts), written
    atomically, and a log line with recipient, subject and file; with ``MAIL_LOG_BODY``
    (not in production) the plain-text part is logged too, so its links can be clicked
    from the terminal."""

    def send_messages(self, email_messages) -> int:
        """Write every message; returns how many were written."""
        folder = outbox_path()
        os.makedirs(folder, exist_ok=True)
        count = 0
        for message in email_messages or ():
            name = f"{now_utc():%Y%m%d-%H%M%S-%f}-{uuid.uuid4().hex[:8]}.eml"
            path = os.path.join(folder, name)
            tmp = f"{path}.tmp"
            with open(tmp, "wb") as fh:
                fh.write(message.message().as_bytes())
            os.replace(tmp, path)
            log.info("e-mail to %s: %r saved as %s", ", ".join(message.recipients()),
                     message.subject, path)
            if current_app.config.get("MAIL_LOG_BODY"):
                log.info("e-mail body:\n%s", message.body)
            count += 1
        return count
