"""Error reporting (rules: "Logs, metrics and errors"): with SENTRY_DSN set, an
unhandled error reaches Sentry (here a real HTTP server of the test's own) with its
request id and without personal data: no cookie, credential header, form body, query
string or e-mail address."""

import subprocess
import sys

from conftest import REPO, TEST_REDIS_URL
from sentry_fake import SentryFake

SCRIPT = r'''
import sys
import sentry_sdk
from core.base.config import TestingConfig
from web.app import create_app

app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=sys.argv[1], REDIS_URL=sys.argv[2],
                 STORAGE_DIR=sys.argv[3], SENTRY_DSN=sys.argv[4], WTF_CSRF_ENABLED=False,
                 PROPAGATE_EXCEPTIONS=False)

def boom():
    raise ZeroDivisionError("partner ann@example.com broke it")

app.add_url_rule("/boom", "boom", boom, methods=["POST"])
resp = app.test_client().post(
    "/boom?token=QUERYSECRET", data={"password": "FORMSECRET", "email": "ann@example.com"},
    headers={"Authorization": "Bearer HEADERSECRET", "Cookie": "session=COOKIESECRET",
             "X-Request-ID": "err-req-9", "X-Forwarded-For": "203.0.113.9"})
print(resp.status_code)
sentry_sdk.flush(5)
'''


def test_errors_reach_sentry_without_personal_data(db_url, tmp_path):
    fake = SentryFake()
    try:
        run = subprocess.run([sys.executable, "-c", SCRIPT, db_url, TEST_REDIS_URL,
                              str(tmp_path), fake.dsn], cwd=str(REPO), capture_output=True,
                             timeout=60, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO),
                                              "PYTHONWARNINGS": "ignore"})
        assert run.returncode == 0, run.stderr.decode()[-3000:]
        assert run.stdout.decode().strip().endswith("500")
        assert fake.events, "no event reached the Sentry server"
    finally:
        fake.close()
    [event] = fake.events
    assert event["exception"]["values"][-1]["type"] == "ZeroDivisionError"
    assert event["tags"]["request_id"] == "err-req-9"
    everything = b"".join(fake.raw).decode()
    for secret in ("QUERYSECRET", "FORMSECRET", "HEADERSECRET", "COOKIESECRET",
                   "ann@example.com", "203.0.113.9"):
        assert secret not in everything, secret
