"""Configuration read from environment variables through small typed parsers (STYLE.md).

Variables: ``SECRET_KEY``, ``DATABASE_URL``, ``REDIS_URL``, ``STRIPE_API_KEY``,
``STRIPE_API_BASE``, ``STRIPE_WEBHOOK_SECRET``, ``STORAGE_DIR``, ``PORT``,
``SOCKETIO_ASYNC_MODE`` (``threading``, ``eventlet``, ``gevent``), ``SOCKETIO_DIRECT_WRITES``
(eventlet only: ``web.fanout``; default on; off in the other modes),
``SISO_ENV`` (``development`` | ``production``),
``LOGIN_LIMIT_PER_ACCOUNT``, ``LOGIN_LIMIT_PER_IP`` (Flask-Limiter strings such as
``10 per 15 minutes``), ``RATELIMIT_STORAGE_URI`` (default: ``REDIS_URL``),
``PROXY_COUNT`` (reverse proxies whose X-Forwarded-For is trusted; default 0),
``RQ_RETRY_INTERVALS`` (seconds before each retry of a job, ``5,30,120``),
``STORAGE_URL`` (``file:///path`` or ``s3://bucket/prefix``; default the folder
``STORAGE_DIR``), ``STORAGE_PRESIGNED_SECONDS`` (downloads redirect to a presigned URL of
that life; 0 streams them), ``METRICS_TOKEN``, ``SENTRY_DSN``, ``LOG_FORMAT``
(``json`` | ``text``), ``DATABASE_POOL_SIZE``,
``WORKER_MAX_JOBS`` (jobs a worker child runs before it is replaced; default 500), web push:
``VAPID_PRIVATE_KEY``, ``VAPID_PUBLIC_KEY``, ``VAPID_SUBJECT``, ``PUSH_ALLOW_LOOPBACK``; e-mail:
``MAIL_SERVER``, ``MAIL_PORT``, ``MAIL_USERNAME``, ``MAIL_PASSWORD``, ``MAIL_USE_TLS``,
``MAIL_USE_SSL``, ``MAIL_TIMEOUT``, ``MAIL_DEFAULT_SENDER``, ``PUBLIC_BASE_URL`` and the
e-mail throttles ``VERIFY_RESEND_LIMIT``, ``RESET_LIMIT_PER_ACCOUNT``, ``RESET_LIMIT_PER_IP``;
payout methods and tax forms: ``FIELD_ENCRYPTION_KEYS``, ``TAX_FORM_REQUIRED``,
``PAYPAL_CLIENT_ID``, ``PAYPAL_CLIENT_SECRET``, ``PAYPAL_API_BASE``, ``PAYPAL_WEBHOOK_ID``,
``PAYPAL_TIMEOUT_SECONDS``, and the 1099-NEC payer ``PAYER_NAME``, ``PAYER_TIN``,
``PAYER_ADDRESS``.
"""

import logging
import os
import secrets
import time
from datetime import timedelta
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
INSTANCE = ROOT / "instance"


def env_str(name: str, default: str | None = None) -> str | None:
    """Return the variable, or ``default`` when unset or empty."""
    value = os.environ.get(name, "").strip()
    return value or default


def queue_url(url: str, max_connections: int) -> str:
    """The Socket.IO message-queue URL with ``max_connections`` added to a Redis URL that
    does not set it (see ``Config.SOCKETIO_QUEUE_MAX_CONNECTIONS``); other URLs as given."""
    from urllib.parse import parse_qs, urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss") or "max_connections" in parse_qs(parts.query):
        return url
    sep = "&" if parts.query else "?"
    return f"{url}{sep}max_connections={max_connections}"


def env_int(name: str, default: int) -> int:
    """Return the variable as an int; a non-integer value stops the app with a clear error."""
    value = env_str(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise RuntimeError(f"{name} must be a whole number, got {value!r}") from None


def env_seconds_list(name: str, default: tuple[int, ...]) -> tuple[int, ...]:
    """Return the variable as a tuple of whole seconds (``"1,2,5"``); anything else stops
    the app with a clear error."""
    value = env_str(name)
    if value is None:
        return default
    try:
        seconds = tuple(int(part) for part in value.split(","))
    except ValueError:
        raise RuntimeError(f"{name} must be whole seconds separated by commas, "
                           f"got {value!r}") from None
    if any(s < 0 for s in seconds):
        raise RuntimeError(f"{name} must not be negative, got {value!r}")
    return seconds


def env_hosts(name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """Return the variable as a tuple of lower-case host names (``"a.example,b.example"``)."""
    value = env_str(name)
    if value is None:
        return default
    return tuple(h.strip().lower().rstrip(".") for h in value.split(",") if h.strip())


def env_bool(name: str, default: bool) -> bool:
    """Return the variable as a bool (``1/true/yes/on`` are true)."""
    value = env_str(name)
    if value is None:
        return default
    return value.lower() in {"1", "true", "yes", "on"}


class Config:
    """Settings shared by every environment; ``from_env`` fills them from the environment."""

    ENV_NAME = "development"
    TESTING = False
    #: Session and link signing key. No default: production refuses to start without
    #: ``SECRET_KEY``; development makes a random one in ``instance/secret_key`` once
    #: (``instance_secret_key``); tests make one per process (rules: "Secrets").
    SECRET_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI = f"sqlite:///{INSTANCE / 'siso.db'}"
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    REDIS_URL = "redis://127.0.0.1:6379/0"
    STORAGE_DIR = str(INSTANCE / "files")
    #: Static files served fingerprinted and compressed by WhiteNoise (``web/assets.py``),
    #: built once per release into this folder; ``STATIC_BUILD=0`` (development, while
    #: editing static files) lets Flask serve ``static/`` as it is.
    STATIC_BUILD = True
    STATIC_BUILD_DIR = str(INSTANCE / "static-build")
    #: Where files live (core/ops/storage.py): ``file:///path`` or ``s3://bucket/prefix``;
    #: None means the folder ``STORAGE_DIR`` (rules: "File storage").
    STORAGE_URL = None
    #: With an S3 store, downloads (after the access check) redirect to a presigned URL
    #: that lives this many seconds; 0 streams them through the app.
    STORAGE_PRESIGNED_SECONDS = 0
    #: ``/metrics`` answers only ``Authorization: Bearer <METRICS_TOKEN>``; unset: 404.
    METRICS_TOKEN = None
    #: Error reporting to Sentry (sentry-sdk) when set, personal data scrubbed.
    SENTRY_DSN = None
    #: ``json`` (one JSON object a line, with the request id) or ``text``.
    LOG_FORMAT = "text"
    #: Database connections each process keeps open (SQLAlchemy pool size; overflow adds
    #: as many again under bursts). None keeps SQLAlchemy's default (5).
    DATABASE_POOL_SIZE = None
    STRIPE_API_KEY = None
    STRIPE_API_BASE = None
    STRIPE_WEBHOOK_SECRET = None
    #: Seconds the Stripe client waits for one answer before it counts as a timeout and
    #: is retried with the same idempotency key (rules: "Payouts").
    STRIPE_TIMEOUT_SECONDS = 30
    #: Fernet keys (urlsafe base64, comma separated, newest first) that encrypt TINs and
    #: bank numbers at rest (rules: "Encrypted fields"). Development makes one in
    #: ``instance/field_key``; production refuses to start without the setting.
    FIELD_ENCRYPTION_KEYS: tuple[str, ...] = ()
    #: No payout is requested or approved without a verified, unexpired tax form
    #: (rules: "Tax gate").
    TAX_FORM_REQUIRED = True
    #: Fraud rules not yet set by staff start switched on (rules: "Fraud rules").
    FRAUD_RULES_ON_BY_DEFAULT = True
    #: PayPal Payouts (REST API, OAuth2 client credentials); unset client id: PayPal off.
    PAYPAL_CLIENT_ID = None
    PAYPAL_CLIENT_SECRET = None
    PAYPAL_API_BASE = "https://api-m.sandbox.paypal.com"
    #: The webhook's id at PayPal, sent back in verify-webhook-signature.
    PAYPAL_WEBHOOK_ID = None
    PAYPAL_TIMEOUT_SECONDS = 30
    #: The payer on Forms 1099-NEC (finance's year-end export).
    PAYER_NAME = None
    PAYER_TIN = None
    PAYER_ADDRESS = None
    PORT = 5000
    SOCKETIO_ASYNC_MODE = "threading"
    #: Socket.IO message queue (Redis) so workers and several web processes share rooms.
    #: ``None`` means "same as REDIS_URL"; an empty string turns it off.
    SOCKETIO_MESSAGE_QUEUE = None
    #: Pub/sub channel of that message queue. Redis pub/sub channels are global to the
    #: server (not per database number), so two deployments, or two test runs, sharing
    #: one Redis must use different channels or each hears the other's room emits.
    #: The default is Flask-SocketIO's own, so existing web processes and workers agree.
    SOCKETIO_CHANNEL = "flask-socketio"
    #: Most Redis connections one process's message-queue client may open, added to the
    #: queue URL unless it names ``max_connections`` itself. redis-py's pool allows 100
    #: and then raises "Too many connections" instead of waiting; under eventlet every
    #: emit in flight (a burst of connects each announcing presence, a broadcast while
    #: others run) holds one, and a refused publish is a message the other processes
    #: never deliver. Idle pooled connections cost Redis little (maxclients is 10,000).
    SOCKETIO_QUEUE_MAX_CONNECTIONS = 1000
    #: Engine.IO keep-alive (seconds). The server pings every ``SOCKETIO_PING_INTERVAL``
    #: and closes a socket whose pong is ``SOCKETIO_PING_TIMEOUT`` late; clients are told
    #: an interval ``SOCKETIO_PING_GRACE`` longer, so a ping the server sends late does not
    #: make them give up. The library default timeout (20 s) dropped sockets when a busy
    #: process answered late (benchmark, 500 clients: the python client's writer also gives
    #: up after max(interval, timeout) + 5 s without a ping to answer). 60 s rides out a
    #: burst of work (a reconnect storm after a deploy) at the price of noticing a vanished
    #: client after 85 s instead of 45 s; presence does not wait for it (its own 60 s TTL).
    SOCKETIO_PING_INTERVAL = 25
    SOCKETIO_PING_GRACE = 5
    SOCKETIO_PING_TIMEOUT = 60
    #: Eventlet mode: write a broadcast's frame straight to each idle WebSocket instead of
    #: through Engine.IO's per-socket queue and writer greenlet (``web.fanout``; about a
    #: third of the CPU a recipient). False keeps the library's path unchanged.
    SOCKETIO_DIRECT_WRITES = True
    #: When False, RQ jobs run in the web process right after commit (tests of views only).
    RQ_ASYNC = True
    #: Seconds RQ waits before each retry of a job enqueued with ``retries`` (one per try).
    RQ_RETRY_INTERVALS = (5, 30, 120)
    MAX_CONTENT_LENGTH = 60 * 1024 * 1024
    #: Largest JSON request body (bytes; 413 above it, before parsing) and deepest
    #: nesting of arrays and objects in one (400 above it). File uploads keep their own
    #: limits (``ASSET_MAX_BYTES``, ``MAX_CONTENT_LENGTH``).
    JSON_MAX_BYTES = 1024 * 1024
    JSON_MAX_DEPTH = 32
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    #: Session lifetimes (core/sessions.py), checked on every request from the login time
    #: and last-seen time kept in the signed session. Staff: 30 minutes idle, 12 hours at
    #: most. Partners who tick "keep me logged in": 14 days idle, 30 days at most (the
    #: cookie outlives the browser); without it: 12 hours idle, browser-session cookie.
    STAFF_IDLE_SECONDS = 30 * 60
    STAFF_MAX_SECONDS = 12 * 3600
    PARTNER_IDLE_SECONDS = 12 * 3600
    PARTNER_REMEMBER_IDLE_SECONDS = 14 * 24 * 3600
    PARTNER_MAX_SECONDS = 30 * 24 * 3600
    #: Cookie life of a remembered (permanent) session; refreshed on each request.
    PERMANENT_SESSION_LIFETIME = timedelta(days=14)
    #: Failed log-ins allowed per account (e-mail) and per client IP before a 429
    #: (Flask-Limiter on Redis, moving window; only failures count).
    LOGIN_LIMIT_PER_ACCOUNT = "10 per 15 minutes"
    LOGIN_LIMIT_PER_IP = "50 per 15 minutes"
    #: Flask-Limiter storage; ``None`` means "same as REDIS_URL".
    RATELIMIT_STORAGE_URI = None
    RATELIMIT_STRATEGY = "moving-window"
    RATELIMIT_KEY_PREFIX = "siso-limits"
    #: Redis down: log and let the request through rather than lock everyone out.
    RATELIMIT_SWALLOW_ERRORS = True
    #: Reverse proxies in front of the app whose X-Forwarded-For/-Proto are trusted
    #: (``PROXY_COUNT``); 0 means the client address is the socket's.
    PROXY_COUNT = 0
    #: Staff roles that must use two-factor (TOTP) to log in (core/twofactor.py).
    TOTP_REQUIRED_ROLES = ("admin", "finance")
    #: ``Strict-Transport-Security`` max-age; 0 sends no HSTS header (production sets it).
    HSTS_SECONDS = 0
    #: Bearer tokens from ``POST /api/auth/*/login`` live this long (seconds).
    API_TOKEN_TTL = 14 * 24 * 3600
    #: Current partner agreement version accepted at registration.
    AGREEMENT_VERSION = "2026-11"
    #: Time limit of one material render job, seconds (rules: "Template sandbox").
    PDF_JOB_TIMEOUT = 120
    #: Extra memory one render may take in the worker child, MB (0: no cap).
    PDF_MEMORY_LIMIT_MB = 1024
    #: Jobs one worker child runs before the supervisor replaces it with a fresh fork
    #: (jobs/worker.py): bounds what a long-lived process can leak (fragmentation,
    #: caches) while a fork costs ~60 ms once per this many jobs, not per job
    #: (BENCHMARKS.md). 0: no bound.
    WORKER_MAX_JOBS = 500
    #: Largest marketing resource upload, bytes (rules: "Resources": 50 MB; below
    #: ``MAX_CONTENT_LENGTH`` so the form's other fields still fit in the request).
    ASSET_MAX_BYTES = 50 * 1024 * 1024
    #: E-mail (Flask-Mailman). With ``MAIL_SERVER`` set, mail goes over SMTP; without it,
    #: to the log and to ``STORAGE_DIR/outbox/*.eml`` (core/mail.py), for development.
    MAIL_SERVER = None
    MAIL_PORT = 587
    MAIL_USERNAME = None
    MAIL_PASSWORD = None
    #: STARTTLS on ``MAIL_PORT`` (587); ``MAIL_USE_SSL`` is TLS from the start (465).
    MAIL_USE_TLS = True
    MAIL_USE_SSL = False
    #: Seconds an SMTP connection may hang before the job fails (and RQ retries it).
    MAIL_TIMEOUT = 10
    MAIL_DEFAULT_SENDER = "SISO Partners <partners@siso.example>"
    #: Write the plain-text body of outbox mail to the log too (development and tests;
    #: production never logs bodies: they hold sign-in links).
    MAIL_LOG_BODY = True
    #: Where links in e-mails point (scheme, host, port), never the request's Host header,
    #: which a client chooses (password-reset poisoning).
    PUBLIC_BASE_URL = "http://127.0.0.1:5000"
    #: Life of an e-mail verification link and of a password-reset link (seconds).
    EMAIL_VERIFY_MAX_AGE = 48 * 3600
    PASSWORD_RESET_MAX_AGE = 3600
    #: Throttles (Flask-Limiter, every request counts): "resend verification" per user,
    #: "forgot password" per e-mail asked about and per client address.
    VERIFY_RESEND_LIMIT = "3 per hour"
    RESET_LIMIT_PER_ACCOUNT = "3 per hour"
    RESET_LIMIT_PER_IP = "20 per hour"
    #: Partner applications (register page and API, every attempt counts) per client
    #: address.
    REGISTER_LIMIT_PER_IP = "10 per hour"
    #: Leads left on partners' public landing pages (``/r/<code>``) per client address,
    #: and per partner's link.
    LANDING_LEAD_LIMIT_PER_IP = "5 per hour"
    LANDING_LEAD_LIMIT_PER_PARTNER = "30 per hour"
    #: Hosts a campaign link may send visitors to instead of a landing page (SISO's own
    #: sites; rules: "Links and attribution").
    LINK_TARGET_HOSTS = ("siso.example", "www.siso.example")
    #: Leads SISO's website reports through /t.js, per client address.
    WEBSITE_LEAD_LIMIT_PER_IP = "20 per hour"
    #: Hosts (and their subdomains) a web push endpoint may be on: the browsers' push
    #: services (Chrome/Edge/Opera, Firefox, Windows, Safari).
    PUSH_SERVICE_HOSTS = ("fcm.googleapis.com", "android.googleapis.com",
                          "updates.push.services.mozilla.com", "push.services.mozilla.com",
                          "notify.windows.com", "push.apple.com")
    #: Web push (rules: "Web push"): the VAPID key pair that signs our pushes (raw P-256
    #: private key and uncompressed public point, base64url; ``flask vapid-keys``-style
    #: values from :func:`new_vapid_private_key`; the public one is derived when empty) and
    #: the contact push services may write to. Development makes its own private key in
    #: ``instance/vapid_private_key``; production without one has web push off.
    VAPID_PRIVATE_KEY: str | None = None
    VAPID_PUBLIC_KEY: str | None = None
    VAPID_SUBJECT = "mailto:partners@siso.example"
    #: Whether a push endpoint may be ``http://127.0.0.1:<port>`` (the tests' own push
    #: service). Only TestingConfig turns it on; production forces it off.
    PUSH_ALLOW_LOOPBACK = False
    #: Outbound webhooks (core/webhooks): seconds before each retry of a failed delivery
    #: (7 retries, about 42 hours in all), the time one attempt may take, the most of an
    #: answer read, and whether endpoints may be loopback addresses over http
    #: (development and tests only; production never allows it).
    WEBHOOK_RETRY_SECONDS = (5, 300, 1800, 7200, 18000, 36000, 86400)
    WEBHOOK_TIMEOUT_SECONDS = 10
    WEBHOOK_MAX_RESPONSE_BYTES = 64 * 1024
    WEBHOOK_ALLOW_LOOPBACK = True
    #: CRM sync lists (core/base/sync.py) hold back rows changed this recently (seconds),
    #: so a slower transaction that commits late is never paged past.
    SYNC_SETTLE_SECONDS = 5

    @classmethod
    def default_secret_key(cls) -> str:
        """The signing key when ``SECRET_KEY`` is not set: development's own random key,
        kept in ``instance/secret_key`` (:func:`instance_secret_key`)."""
        return instance_secret_key()

    @classmethod
    def default_field_keys(cls) -> tuple[str, ...]:
        """The field encryption keys when ``FIELD_ENCRYPTION_KEYS`` is not set:
        development's own random Fernet key in ``instance/field_key``."""
        from cryptography.fernet import Fernet

        return (instance_secret_key(name="field_key",
                                    make=lambda: Fernet.generate_key().decode()),)

    @classmethod
    def default_vapid_key(cls) -> str | None:
        """The VAPID private key when ``VAPID_PRIVATE_KEY`` is not set: development's own,
        made once in ``instance/vapid_private_key``."""
        return instance_secret_key(name="vapid_private_key", make=new_vapid_private_key)

    @classmethod
    def from_env(cls) -> dict:
        """Return the settings overridden by the environment, as a dict for ``app.config``."""
        cfg = {
            "VAPID_PRIVATE_KEY": env_str("VAPID_PRIVATE_KEY") or cls.default_vapid_key(),
            "VAPID_PUBLIC_KEY": env_str("VAPID_PUBLIC_KEY", cls.VAPID_PUBLIC_KEY),
            "VAPID_SUBJECT": env_str("VAPID_SUBJECT", cls.VAPID_SUBJECT),
            "PUSH_ALLOW_LOOPBACK": env_bool("PUSH_ALLOW_LOOPBACK", cls.PUSH_ALLOW_LOOPBACK),
            "SECRET_KEY": env_str("SECRET_KEY") or cls.default_secret_key(),
            "SQLALCHEMY_DATABASE_URI": normalise_db_url(
                env_str("DATABASE_URL", cls.SQLALCHEMY_DATABASE_URI)
            ),
            "REDIS_URL": env_str("REDIS_URL", cls.REDIS_URL),
            "STORAGE_DIR": env_str("STORAGE_DIR", cls.STORAGE_DIR),
            "STATIC_BUILD": env_bool("STATIC_BUILD", cls.STATIC_BUILD),
            "STATIC_BUILD_DIR": env_str("STATIC_BUILD_DIR", cls.STATIC_BUILD_DIR),
            "STORAGE_URL": env_str("STORAGE_URL", cls.STORAGE_URL),
            "STORAGE_PRESIGNED_SECONDS": env_int("STORAGE_PRESIGNED_SECONDS",
                                                 cls.STORAGE_PRESIGNED_SECONDS),
            "METRICS_TOKEN": env_str("METRICS_TOKEN", cls.METRICS_TOKEN),
            "SENTRY_DSN": env_str("SENTRY_DSN", cls.SENTRY_DSN),
            "LOG_FORMAT": env_str("LOG_FORMAT", cls.LOG_FORMAT),
            "STRIPE_API_KEY": env_str("STRIPE_API_KEY"),
            "STRIPE_API_BASE": env_str("STRIPE_API_BASE"),
            "STRIPE_WEBHOOK_SECRET": env_str("STRIPE_WEBHOOK_SECRET"),
            "STRIPE_TIMEOUT_SECONDS": env_int("STRIPE_TIMEOUT_SECONDS",
                                              cls.STRIPE_TIMEOUT_SECONDS),
            "FIELD_ENCRYPTION_KEYS": tuple(k.strip() for k in env_str(
                "FIELD_ENCRYPTION_KEYS", "").split(",") if k.strip())
            or cls.default_field_keys(),
            "TAX_FORM_REQUIRED": env_bool("TAX_FORM_REQUIRED", cls.TAX_FORM_REQUIRED),
            "FRAUD_RULES_ON_BY_DEFAULT": env_bool("FRAUD_RULES_ON_BY_DEFAULT",
                                                  cls.FRAUD_RULES_ON_BY_DEFAULT),
            "PAYPAL_CLIENT_ID": env_str("PAYPAL_CLIENT_ID"),
            "PAYPAL_CLIENT_SECRET": env_str("PAYPAL_CLIENT_SECRET"),
            "PAYPAL_API_BASE": env_str("PAYPAL_API_BASE", cls.PAYPAL_API_BASE).rstrip("/"),
            "PAYPAL_WEBHOOK_ID": env_str("PAYPAL_WEBHOOK_ID"),
            "PAYPAL_TIMEOUT_SECONDS": env_int("PAYPAL_TIMEOUT_SECONDS",
                                              cls.PAYPAL_TIMEOUT_SECONDS),
            "PAYER_NAME": env_str("PAYER_NAME"),
            "PAYER_TIN": env_str("PAYER_TIN"),
            "PAYER_ADDRESS": env_str("PAYER_ADDRESS"),
            "PORT": env_int("PORT", cls.PORT),
            "SOCKETIO_ASYNC_MODE": env_str("SOCKETIO_ASYNC_MODE", cls.SOCKETIO_ASYNC_MODE),
            # Set but empty means "off" (README), so not read through env_str.
            "SOCKETIO_MESSAGE_QUEUE": os.environ["SOCKETIO_MESSAGE_QUEUE"].strip()
            if "SOCKETIO_MESSAGE_QUEUE" in os.environ else cls.SOCKETIO_MESSAGE_QUEUE,
            "SOCKETIO_CHANNEL": env_str("SOCKETIO_CHANNEL", cls.SOCKETIO_CHANNEL),
            "SOCKETIO_QUEUE_MAX_CONNECTIONS": env_int("SOCKETIO_QUEUE_MAX_CONNECTIONS",
                                                      cls.SOCKETIO_QUEUE_MAX_CONNECTIONS),
            "SOCKETIO_PING_INTERVAL": env_int("SOCKETIO_PING_INTERVAL",
                                              cls.SOCKETIO_PING_INTERVAL),
            "SOCKETIO_PING_TIMEOUT": env_int("SOCKETIO_PING_TIMEOUT", cls.SOCKETIO_PING_TIMEOUT),
            "SOCKETIO_DIRECT_WRITES": env_bool("SOCKETIO_DIRECT_WRITES",
                                               cls.SOCKETIO_DIRECT_WRITES),
            "RQ_RETRY_INTERVALS": env_seconds_list("RQ_RETRY_INTERVALS",
                                                   cls.RQ_RETRY_INTERVALS),
            "PDF_JOB_TIMEOUT": env_int("PDF_JOB_TIMEOUT", cls.PDF_JOB_TIMEOUT),
            "PDF_MEMORY_LIMIT_MB": env_int("PDF_MEMORY_LIMIT_MB", cls.PDF_MEMORY_LIMIT_MB),
            "WORKER_MAX_JOBS": env_int("WORKER_MAX_JOBS", cls.WORKER_MAX_JOBS),
            "ASSET_MAX_BYTES": env_int("ASSET_MAX_BYTES", cls.ASSET_MAX_BYTES),
            "JSON_MAX_BYTES": env_int("JSON_MAX_BYTES", cls.JSON_MAX_BYTES),
            "LOGIN_LIMIT_PER_ACCOUNT": env_str("LOGIN_LIMIT_PER_ACCOUNT",
                                               cls.LOGIN_LIMIT_PER_ACCOUNT),
            "LOGIN_LIMIT_PER_IP": env_str("LOGIN_LIMIT_PER_IP", cls.LOGIN_LIMIT_PER_IP),
            "RATELIMIT_STORAGE_URI": env_str("RATELIMIT_STORAGE_URI", cls.RATELIMIT_STORAGE_URI),
            "PROXY_COUNT": env_int("PROXY_COUNT", cls.PROXY_COUNT),
            "PUBLIC_BASE_URL": env_str("PUBLIC_BASE_URL", cls.PUBLIC_BASE_URL).rstrip("/"),
            "VERIFY_RESEND_LIMIT": env_str("VERIFY_RESEND_LIMIT", cls.VERIFY_RESEND_LIMIT),
            "RESET_LIMIT_PER_ACCOUNT": env_str("RESET_LIMIT_PER_ACCOUNT",
                                               cls.RESET_LIMIT_PER_ACCOUNT),
            "RESET_LIMIT_PER_IP": env_str("RESET_LIMIT_PER_IP", cls.RESET_LIMIT_PER_IP),
            "REGISTER_LIMIT_PER_IP": env_str("REGISTER_LIMIT_PER_IP", cls.REGISTER_LIMIT_PER_IP),
            "LANDING_LEAD_LIMIT_PER_IP": env_str("LANDING_LEAD_LIMIT_PER_IP",
                                                 cls.LANDING_LEAD_LIMIT_PER_IP),
            "LANDING_LEAD_LIMIT_PER_PARTNER": env_str("LANDING_LEAD_LIMIT_PER_PARTNER",
                                                      cls.LANDING_LEAD_LIMIT_PER_PARTNER),
            "PUSH_SERVICE_HOSTS": env_hosts("PUSH_SERVICE_HOSTS", cls.PUSH_SERVICE_HOSTS),
            "LINK_TARGET_HOSTS": env_hosts("LINK_TARGET_HOSTS", cls.LINK_TARGET_HOSTS),
            "WEBSITE_LEAD_LIMIT_PER_IP": env_str("WEBSITE_LEAD_LIMIT_PER_IP",
                                                 cls.WEBSITE_LEAD_LIMIT_PER_IP),
            "WEBHOOK_RETRY_SECONDS": env_seconds_list("WEBHOOK_RETRY_SECONDS",
                                                      cls.WEBHOOK_RETRY_SECONDS),
            "WEBHOOK_TIMEOUT_SECONDS": env_int("WEBHOOK_TIMEOUT_SECONDS",
                                               cls.WEBHOOK_TIMEOUT_SECONDS),
            "WEBHOOK_ALLOW_LOOPBACK": env_bool("WEBHOOK_ALLOW_LOOPBACK",
                                               cls.WEBHOOK_ALLOW_LOOPBACK),
            "SYNC_SETTLE_SECONDS": env_int("SYNC_SETTLE_SECONDS", cls.SYNC_SETTLE_SECONDS),
        }
        cfg.update(mail_settings(cls))
        pool = env_int("DATABASE_POOL_SIZE", 0)
        cfg["DATABASE_POOL_SIZE"] = pool or None
        if pool > 0 and not cfg["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
            cfg["SQLALCHEMY_ENGINE_OPTIONS"] = {**cls.SQLALCHEMY_ENGINE_OPTIONS,
                                                "pool_size": pool, "max_overflow": pool}
        return cfg


def new_vapid_private_key() -> str:
    """A new VAPID private key: a random P-256 private value, 32 bytes, base64url without
    padding (the form ``VAPID_PRIVATE_KEY`` takes). ``python -c "from core.base.config
    import new_vapid_private_key as k; print(k())"`` prints one for production."""
    import base64

    from cryptography.hazmat.primitives.asymmetric import ec

    value = ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value
    return base64.urlsafe_b64encode(value.to_bytes(32, "big")).decode().rstrip("=")


def instance_secret_key(folder: Path | None = None, name: str = "secret_key",
                        make=None) -> str:
    """The development signing key: read from ``<folder>/secret_key`` (default
    ``instance/``), or made there on first start, 64 random hex characters, in a file only
    its owner can read (mode 0600). Several processes starting at once agree on one key
    (the first to create the file wins). Never a key written in the code, so a server
    started without ``SISO_ENV`` cannot sign with a known key."""
    path = (folder or INSTANCE) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # another process may be writing it this instant
            key = path.read_text().strip()
            if key:
                return key
            time.sleep(0.02)
        raise RuntimeError(f"{path} is empty: delete it and start again.") from None
    key = make() if make else secrets.token_hex(32)
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    return key


#: The Flask-Mailman backend for development: the log and ``STORAGE_DIR/outbox``.
OUTBOX_BACKEND = "core.base.mail.OutboxEmailBackend"


def mail_settings(cls: type[Config]) -> dict:
    """The ``MAIL_*`` settings from the environment: SMTP when ``MAIL_SERVER`` is set,
    else the outbox backend. Returns a dict for ``app.config``; a bad number stops the
    app (``env_int``), and ``MAIL_USE_TLS`` with ``MAIL_USE_SSL`` is refused."""
    server = env_str("MAIL_SERVER", cls.MAIL_SERVER)
    cfg = {
        "MAIL_SERVER": server,
        "MAIL_PORT": env_int("MAIL_PORT", cls.MAIL_PORT),
        "MAIL_USERNAME": env_str("MAIL_USERNAME", cls.MAIL_USERNAME),
        "MAIL_PASSWORD": env_str("MAIL_PASSWORD", cls.MAIL_PASSWORD),
        "MAIL_USE_SSL": env_bool("MAIL_USE_SSL", cls.MAIL_USE_SSL),
        "MAIL_TIMEOUT": env_int("MAIL_TIMEOUT", cls.MAIL_TIMEOUT),
        "MAIL_DEFAULT_SENDER": env_str("MAIL_DEFAULT_SENDER", cls.MAIL_DEFAULT_SENDER),
        "MAIL_BACKEND": "smtp" if server else OUTBOX_BACKEND,
    }
    # Implicit TLS and STARTTLS exclude each other; MAIL_USE_SSL alone means "not STARTTLS".
    cfg["MAIL_USE_TLS"] = env_bool("MAIL_USE_TLS", cls.MAIL_USE_TLS and not cfg["MAIL_USE_SSL"])
    if cfg["MAIL_USE_TLS"] and cfg["MAIL_USE_SSL"]:
        raise RuntimeError("Set MAIL_USE_TLS (STARTTLS, port 587) or MAIL_USE_SSL (port "
                           "465), not both.")
    return cfg


class ProductionConfig(Config):
    """Production: secure cookies; refuses to start without ``SECRET_KEY``."""

    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True

    @classmethod
    def default_secret_key(cls) -> str:
        """None: production refuses to start without ``SECRET_KEY``."""
        raise RuntimeError("SECRET_KEY must be set in production (SISO_ENV=production).")

    @classmethod
    def default_field_keys(cls) -> tuple[str, ...]:
        """None: production refuses to start without ``FIELD_ENCRYPTION_KEYS``."""
        raise RuntimeError("FIELD_ENCRYPTION_KEYS must be set in production "
                           "(SISO_ENV=production): TINs and bank numbers are encrypted "
                           "with it.")

    @classmethod
    def default_vapid_key(cls) -> str | None:
        """None: production without ``VAPID_PRIVATE_KEY`` has web push off (a warning at
        start); partners then see no push toggle."""
        logging.getLogger(__name__).warning(
            "VAPID_PRIVATE_KEY is not set: web push is off.")
        return None

    REMEMBER_COOKIE_SECURE = True
    SOCKETIO_ASYNC_MODE = "eventlet"
    LOG_FORMAT = "json"
    HSTS_SECONDS = 365 * 24 * 3600
    MAIL_LOG_BODY = False
    WEBHOOK_ALLOW_LOOPBACK = False

    @classmethod
    def from_env(cls) -> dict:
        cfg = super().from_env()
        # Webhooks to our own machine are an SSRF hole: never in production.
        cfg["WEBHOOK_ALLOW_LOOPBACK"] = False
        cfg["PUSH_ALLOW_LOOPBACK"] = False  # push endpoints on our own machine: never
        if not cfg["MAIL_SERVER"]:
            logging.getLogger(__name__).warning(
                "MAIL_SERVER is not set: e-mail (verification, password resets, notices) "
                "goes to STORAGE_DIR/outbox and reaches nobody.")
        return cfg


class TestingConfig(Config):
    """Tests: a throwaway database and storage folder given by the fixtures."""

    ENV_NAME = "testing"
    TESTING = True
    #: Random per process: tests that start other processes hand it on.
    SECRET_KEY = secrets.token_hex(32)

    @classmethod
    def default_secret_key(cls) -> str:
        """The process's random test key (never a file, never a known value)."""
        return cls.SECRET_KEY

    #: A random VAPID key per process; the tests' own push service is on 127.0.0.1.
    VAPID_PRIVATE_KEY = new_vapid_private_key()
    PUSH_ALLOW_LOOPBACK = True

    @classmethod
    def default_vapid_key(cls) -> str:
        """The process's random test key."""
        return cls.VAPID_PRIVATE_KEY

    #: A random field key per process (tests of rotation add their own).
    FIELD_ENCRYPTION_KEYS = (Fernet.generate_key().decode(),)

    @classmethod
    def default_field_keys(cls) -> tuple[str, ...]:
        """The process's random test key."""
        return cls.FIELD_ENCRYPTION_KEYS
    #: The suite's payouts predate tax forms; tests/payments turn the gate on.
    TAX_FORM_REQUIRED = False
    #: The suite's factories (many partners' "Deal 0" leads) predate fraud rules;
    #: tests/links switch the rules on.
    FRAUD_RULES_ON_BY_DEFAULT = False
    WTF_CSRF_ENABLED = True
    SOCKETIO_MESSAGE_QUEUE = ""
    #: The suite's many staff log-ins use passwords only; tests/test_two_factor.py turns
    #: the production requirement (admin, finance) back on. Enrolled staff are always asked.
    TOTP_REQUIRED_ROLES = ()
    #: The suite registers many applicants, asks for many password resets and leaves many
    #: landing-page leads from one address; the throttles' own tests set small figures.
    REGISTER_LIMIT_PER_IP = "1000 per hour"
    RESET_LIMIT_PER_IP = "1000 per hour"
    LANDING_LEAD_LIMIT_PER_IP = "1000 per hour"
    LANDING_LEAD_LIMIT_PER_PARTNER = "1000 per hour"
    WEBSITE_LEAD_LIMIT_PER_IP = "1000 per hour"
    #: Sync lists show a change at once (the settling delay's own test sets it).
    SYNC_SETTLE_SECONDS = 0


def normalise_db_url(url: str) -> str:
    """Map ``postgres://`` and ``postgresql://`` to SQLAlchemy's psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def config_for_env() -> type[Config]:
    """Pick the config class from ``SISO_ENV`` (default ``development``)."""
    name = env_str("SISO_ENV", "development")
    return ProductionConfig if name == "production" else Config
