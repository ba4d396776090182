"""The web layer's extensions, created once and bound to the app in ``web.app``:
Flask-Login, CSRF protection and the rate limiter."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

login_manager = LoginManager()
csrf = CSRFProtect()
#: Rate limits (log-in, registration, e-mail pages and landing-page leads:
#: ``web.throttle``); storage is the app's Redis (``RATELIMIT_STORAGE_URI`` or
#: ``REDIS_URL``). No default limits. One per process: it keeps the last app's storage.
limiter = Limiter(key_func=get_remote_address)
