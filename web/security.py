"""Security headers on every response, the CSP nonce of the back office's inline
scripts, and trusting reverse proxies (rules: "Security headers")."""

import secrets

from flask import Flask, g


def csp_nonce() -> str:
    """A random nonce for this request's inline scripts (Flask-Admin's templates ask for it
    through ``Admin(csp_nonce_generator=...)``); the CSP header then allows it."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def content_security_policy(nonce: str | None = None) -> str:
    """The CSP header value: scripts, styles, fonts and connections from this site only;
    no inline script unless it carries ``nonce``; no plugins, no framing, no ``<base>``.

    Inline ``style=""`` attributes are allowed (progress rings and bars set a width or a
    CSS variable); ``<style>`` elements are not.
    """
    script = "script-src 'self'" + (f" 'nonce-{nonce}'" if nonce else "")
    return "; ".join([
        "default-src 'self'", script, "style-src 'self'", "style-src-attr 'unsafe-inline'",
        "img-src 'self' data: blob:", "font-src 'self'", "connect-src 'self'",
        "worker-src 'self'", "manifest-src 'self'", "object-src 'none'", "base-uri 'self'",
        "frame-ancestors 'none'",
    ])


def trust_proxies(app: Flask) -> None:
    """Behind ``PROXY_COUNT`` reverse proxies, take the client address and scheme from
    their ``X-Forwarded-For``/``-Proto`` headers (Werkzeug's ProxyFix), so per-IP limits
    count clients, not the proxy. 0 (default) trusts no such header."""
    count = app.config.get("PROXY_COUNT", 0)
    if count:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=0)


def init_app(app: Flask) -> None:
    """Add the headers to every response: the CSP (with this request's nonce, if any), no
    sniffing, no framing, same-origin referrers, HSTS when ``HSTS_SECONDS`` is set."""

    @app.after_request
    def security_headers(resp):
        resp.headers.setdefault("Content-Security-Policy",
                                content_security_policy(g.get("csp_nonce")))
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        if app.config.get("HSTS_SECONDS"):
            resp.headers.setdefault("Strict-Transport-Security",
                                    f"max-age={app.config['HSTS_SECONDS']}; includeSubDomains")
        return resp
