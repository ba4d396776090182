"""Redirect targets: only our own paths (ASVS "unvalidated redirects")."""

from urllib.parse import urlsplit


def safe_next(target: str | None, default: str) -> str:
    """Return ``target`` when it is a path on this site, else ``default``.

    Absolute URLs are reduced to their path only when they point nowhere else: anything
    with a scheme or host, ``//`` or a backslash is refused.
    """
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
