"""Redirect targets: only our own paths (ASVS "unvalidated redirects")."""

from urllib.parse import urlsplit


def safe_next(target: str | None, default: str) -> str:
    """Return ``target`` when it is a path on this site, else ``default``.

    Anything with a scheme or host, ``//``, a backslash (browsers read ``/\\`` as ``//``),
    or a control character or space (browsers drop tabs and newlines, so ``/\\t/evil``
    would become ``//evil``) is refused.
    """
    if not target or not isinstance(target, str):
        return default
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
