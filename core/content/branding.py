"""Partner branding for co-branded materials: display name, contact line, brand colour,
logo; and the referral QR code (rules: "Materials").

Rules (rules: "Materials"): a logo is PNG or JPEG, at most 5 MB and 4,000 × 4,000 pixels, and is
re-encoded (a fresh PNG without metadata) before it is stored; anything else is refused
with a message a person understands. The image header is read and checked *before* any
pixel is decoded, so a decompression bomb never gets decoded. A brand colour is hex
only (``#rgb`` or ``#rrggbb``) and is stored as ``#rrggbb``.
"""

import base64
import hashlib
import io
import re
import warnings

from PIL import Image, UnidentifiedImageError

from core.base.errors import ValidationError
from core.base.extensions import db
from core.base.timeutil import now_utc
from core.content.models import PartnerBranding

#: Largest logo upload, in bytes (5 MB).
LOGO_MAX_BYTES = 5 * 1024 * 1024
#: Largest logo, in pixels per side.
LOGO_MAX_SIDE = 4000
#: Longest side of the stored, re-encoded logo (plenty for print at logo size).
LOGO_STORED_SIDE = 1200
#: Image formats accepted (Pillow format names).
LOGO_FORMATS = ("PNG", "JPEG")
#: Colour used until a partner picks one (SISO teal).
DEFAULT_COLOR = "#0f766e"

_HEX = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def normalise_color(value) -> str:
    """Return ``value`` as ``#rrggbb`` (lower case).

    Accepts ``#rgb`` or ``#rrggbb`` only (surrounding spaces ignored); anything else,
    named colours and ``rgb()`` included, raises ``ValidationError``.
    """
    text = value.strip() if isinstance(value, str) else ""
    if not _HEX.fullmatch(text):
        raise ValidationError("Brand colour must be a hex colour such as #0f766e.")
    if len(text) == 4:
        text = "#" + "".join(c * 2 for c in text[1:])
    return text.lower()


def _single_line(value, field: str, max_len: int, required: bool) -> str:
    text = value if isinstance(value, str) else ""
    text = " ".join(_CONTROL.sub(" ", text).split())
    if required and not text:
        raise ValidationError(f"{field} is required.")
    if len(text) > max_len:
        raise ValidationError(f"{field} can be at most {max_len} characters.")
    return text


def process_logo(data: bytes) -> tuple[bytes, int, int]:
    """Check an uploaded logo and re-encode it.

    ``data`` is the uploaded file's bytes. Returns ``(png_bytes, width, height)`` of the
    re-encoded image (longest side at most :data:`LOGO_STORED_SIDE`, RGBA or RGB, no
    metadata). Raises ``ValidationError`` for: more than 5 MB, not PNG/JPEG, more than
    4,000 pixels on a side (checked from the header, before decoding), or a damaged file.
    """
    if not isinstance(data, bytes | bytearray) or not data:
        raise ValidationError("Choose a logo file (PNG or JPEG).")
    if len(data) > LOGO_MAX_BYTES:
        raise ValidationError("The logo is larger than 5 MB. Export a smaller PNG or JPEG.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=LOGO_FORMATS)  # header only
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationError(f"The logo has far too many pixels; the limit is "
                              f"{LOGO_MAX_SIDE} × {LOGO_MAX_SIDE}.") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ValidationError("The logo must be a PNG or JPEG image.") from None
    width, height = img.size
    if width > LOGO_MAX_SIDE or height > LOGO_MAX_SIDE:
        raise ValidationError(f"The logo is {width} × {height} pixels; the limit is "
                              f"{LOGO_MAX_SIDE} × {LOGO_MAX_SIDE}.")
    if width < 1 or height < 1:
        raise ValidationError("The logo has no pixels.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img.load()
            has_alpha = img.mode in ("RGBA", "LA", "PA") or (
                img.mode == "P" and "transparency" in img.info)
            img = img.convert("RGBA" if has_alpha else "RGB")
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning,
            Image.DecompressionBombError):
        raise ValidationError("The logo file is damaged; export it again as PNG or JPEG.") \
            from None
    img.thumbnail((LOGO_STORED_SIDE, LOGO_STORED_SIDE))
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue(), img.width, img.height


def get_branding(partner_id: int) -> PartnerBranding | None:
    """The partner's branding row, or ``None`` if they never set one."""
    return db.session.scalar(db.select(PartnerBranding).where(
        PartnerBranding.partner_id == partner_id))


def save_branding(partner, display_name, contact_line, brand_color,
                  logo: bytes | None = None, remove_logo: bool = False) -> PartnerBranding:
    """Create or update a partner's branding.

    Args: ``partner`` (Partner), ``display_name``
    (1–80 chars, one line), ``contact_line`` (0–160 chars, one line), ``brand_color``
    (hex, see :func:`normalise_color`), ``logo`` (uploaded bytes, optional; see
    :func:`process_logo`), ``remove_logo``. The logo is written (atomically) to
    ``branding/<partner_id>/logo-<sha12>.png`` in the file store; the old file is kept
    (renders of earlier versions may still point at it). Raises ``ValidationError``.
    """
    from core.ops.storage import get_storage

    name = _single_line(display_name, "Display name", 80, True)
    contact = _single_line(contact_line, "Contact line", 160, False)
    color = normalise_color(brand_color)
    row = get_branding(partner.id)
    if row is None:
        row = PartnerBranding(partner_id=partner.id, display_name=name)
        db.session.add(row)
    row.display_name, row.contact_line, row.brand_color = name, contact, color
    if logo:
        png, w, h = process_logo(logo)
        sha = hashlib.sha256(png).hexdigest()
        rel = f"branding/{partner.id}/logo-{sha[:12]}.png"
        get_storage().put_bytes(rel, png)
        row.logo_path, row.logo_sha256, row.logo_width, row.logo_height = rel, sha, w, h
    elif remove_logo:
        row.logo_path, row.logo_sha256, row.logo_width, row.logo_height = "", "", 0, 0
    row.updated_at = now_utc()
    db.session.flush()
    return row


def data_uri(mime: str, data: bytes) -> str:
    """``data:<mime>;base64,...`` for inline images (the only non-static URLs a PDF loads)."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def qr_png(text: str) -> bytes:
    """A QR code of ``text`` (error correction M, 4-module quiet zone) as PNG bytes."""
    import qrcode
    from qrcode.constants import ERROR_CORRECT_M

    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=10, border=4)
    qr.add_data(text)
    qr.make(fit=True)
    img = qr.make_image(fill_color="black", back_color="white")
    out = io.BytesIO()
    img.save(out)
    return out.getvalue()


def _mix(color: str, other: str, t: float) -> str:
    a = [int(color[i:i + 2], 16) for i in (1, 3, 5)]
    b = [int(other[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(a, b, strict=True))


def brand_palette(color: str) -> dict:
    """Colours derived from a brand colour, for the template CSS (all ``#rrggbb``):
    ``primary``, ``primary_dark`` (30% towards black), ``tint`` (90% towards white) and
    ``on_primary`` (white or near-black, whichever reads better on ``primary``).
    The colour is validated again here, so only hex ever reaches a stylesheet."""
    c = normalise_color(color)
    r, g, b = (int(c[i:i + 2], 16) / 255 for i in (1, 3, 5))

    def lin(v):
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    lum = 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
    return {"primary": c, "primary_dark": _mix(c, "#000000", 0.3),
            "tint": _mix(c, "#ffffff", 0.9),
            "on_primary": "#ffffff" if lum < 0.45 else "#111827"}
