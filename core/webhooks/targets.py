"""Where a webhook may be sent (rules: "Webhook targets"): the SSRF checks, made when an
endpoint is saved and again, on the addresses the name resolves to then, before every
attempt, so a name that later points inside our network is refused at send time.

- https only, except loopback addresses when ``WEBHOOK_ALLOW_LOOPBACK`` is on
  (development and tests), which may also use http;
- no user info in the URL, at most :data:`MAX_URL` characters;
- every address the host resolves to must be a public one: no loopback, private,
  link-local (the cloud metadata address 169.254.169.254 is one), shared, reserved,
  multicast or unspecified address, IPv4 inside IPv6 included.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from flask import current_app

from core.base.errors import ValidationError

#: Longest endpoint URL accepted (characters).
MAX_URL = 2000


class TargetRefused(ValidationError):
    """The URL or the address it resolves to is not one we send to."""


def _public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, loopback_ok: bool) -> bool:
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        ip = mapped
    if ip.is_loopback:
        return loopback_ok
    return ip.is_global and not ip.is_multicast


def parse_url(url) -> tuple[str, str, int, str]:
    """Check the URL's form: returns ``(scheme, host, port, path_and_query)``. Raises
    :class:`TargetRefused` (422) with the reason."""
    if not isinstance(url, str) or not url.strip():
        raise TargetRefused("url must be the address that receives the webhooks.")
    if len(url) > MAX_URL:
        raise TargetRefused(f"url must be at most {MAX_URL:,} characters.")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise TargetRefused("url is not a valid URL.") from None
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        raise TargetRefused("url must be an https:// URL.")
    if parts.username or parts.password:
        raise TargetRefused("url must not carry a user name or password.")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path


def resolve(url) -> tuple[str, str, int, str, str]:
    """Check ``url`` and resolve its host now: returns ``(scheme, host, port, path,
    address)`` where ``address`` is the IP to connect to (the first that the name
    resolves to; all of them must be public). Raises :class:`TargetRefused` (422)."""
    scheme, host, port, path = parse_url(url)
    loopback_ok = bool(current_app.config.get("WEBHOOK_ALLOW_LOOPBACK"))
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise TargetRefused(f"The host {host} does not resolve to an address.") from None
    addresses = []
    for info in infos:
        ip = ipaddress.ip_address(info[4][0].split("%")[0])
        if not _public(ip, loopback_ok):
            raise TargetRefused(f"The host {host} resolves to {ip}, an internal address; "
                                "webhooks go to public addresses only.")
        addresses.append(str(ip))
    if not addresses:
        raise TargetRefused(f"The host {host} does not resolve to an address.")
    if scheme != "https" and not all(ipaddress.ip_address(a).is_loopback for a in addresses):
        raise TargetRefused("url must be an https:// URL.")
    return scheme, host, port, path, addresses[0]
