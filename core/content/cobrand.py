"""Co-branded resources: a co-brandable PDF or image of the resources library with the
partner's band under every page: logo, display name, contact line and a QR code of their
referral link, on a rule of their brand colour (rules: "Co-branded resources").

Each page of the source is placed, as it is shown (its rotation and crop box applied),
above a band as wide as the page, on a new page that is the band's height taller. An
image becomes one page (portrait or landscape as the image) with the band under it.
Everything here is pure: bytes and plain values in, PDF bytes out.
"""

import io

import pikepdf
from markupsafe import escape

from core.base.pdf import render_pdf
from core.content.branding import brand_palette

#: Most pages of a PDF that is co-branded.
MAX_PAGES = 300
#: The band's height is this share of the page's width, within the bounds below (points).
BAND_SHARE = 0.11
BAND_MIN_PT, BAND_MAX_PT = 44, 110
#: A4 in points, the page an image is placed on (landscape for a wide image).
A4 = (595.28, 841.89)


class CobrandError(ValueError):
    """A source file that cannot be co-branded; the message is for people."""


def band_height(width_pt: float) -> float:
    """Height in points of the band under a page ``width_pt`` points wide."""
    return float(min(BAND_MAX_PT, max(BAND_MIN_PT, round(width_pt * BAND_SHARE))))


def band_html(ctx: dict, width_pt: float, height_pt: float) -> str:
    """The band as an HTML document one ``width_pt`` × ``height_pt`` page large.

    ``ctx`` holds the slot values of ``core.content.materials.material_context``
    (``partner``, ``logo``, ``qr``, ``brand``); partner text is escaped and the colours
    are re-validated (``brand_palette``)."""
    brand = brand_palette(ctx["brand"]["primary"])
    h = height_pt
    partner = ctx["partner"]
    logo = f'<img class="logo" src="{escape(ctx["logo"])}" alt="">' if ctx.get("logo") else ""
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><style>
@page {{ size: {width_pt:.2f}pt {h:.2f}pt; margin: 0; }}
html {{ font-family: "DejaVu Sans", sans-serif; color: #1f2937; }}
body {{ margin: 0; }}
.band {{ box-sizing: border-box; width: {width_pt:.2f}pt; height: {h:.2f}pt; display: flex;
  align-items: center; gap: {h * 0.18:.2f}pt; padding: {h * 0.1:.2f}pt {h * 0.25:.2f}pt;
  background: #ffffff; border-top: {max(2, h * 0.06):.2f}pt solid {brand["primary"]}; }}
.logo {{ height: {h * 0.62:.2f}pt; max-width: {width_pt * 0.22:.2f}pt; object-fit: contain; }}
.who {{ flex: 1; overflow: hidden; white-space: nowrap; }}
.name {{ font-weight: bold; font-size: {h * 0.22:.2f}pt; color: {brand["primary_dark"]}; }}
.contact {{ font-size: {h * 0.15:.2f}pt; margin-top: {h * 0.04:.2f}pt; }}
.qr {{ height: {h * 0.78:.2f}pt; width: {h * 0.78:.2f}pt; }}
</style></head><body><div class="band">{logo}<div class="who">
<div class="name">{escape(partner["display_name"])}</div>
<div class="contact">{escape(partner["contact_line"])}</div></div>
<img class="qr" src="{escape(ctx["qr"])}" alt="QR code of the referral link"></div>
</body></html>"""


def _open(data: bytes) -> pikepdf.Pdf:
    try:
        return pikepdf.open(io.BytesIO(data))
    except pikepdf.PasswordError:
        raise CobrandError("This PDF is password-protected, so it cannot be co-branded. "
                           "Download it as it is, or ask SISO support.") from None
    except pikepdf.PdfError:
        raise CobrandError("This PDF cannot be read, so it cannot be co-branded. Download "
                           "it as it is, or ask SISO support.") from None


def _shown_size(page: pikepdf.Page) -> tuple[float, float]:
    """Width and height of a page as a viewer shows it (crop box, rotation)."""
    box = page.cropbox
    w, h = float(box[2]) - float(box[0]), float(box[3]) - float(box[1])
    rotate = int(page.obj.get("/Rotate", 0)) % 360
    return (h, w) if rotate in (90, 270) else (w, h)


def cobrand_pdf(data: bytes, ctx: dict) -> tuple[bytes, int]:
    """Put the partner's band under every page of the PDF ``data``.

    Returns ``(pdf_bytes, pages)``. The pages keep their content as shown; links inside
    the source are not kept (the QR code carries the partner's link). Raises
    :class:`CobrandError` for a PDF that is encrypted, unreadable, empty or longer than
    :data:`MAX_PAGES`."""
    src = _open(data)
    count = len(src.pages)
    if count == 0 or count > MAX_PAGES:
        raise CobrandError(f"This PDF has {count} pages; co-branding takes 1 to {MAX_PAGES}.")
    out = pikepdf.new()
    bands: dict[float, pikepdf.Pdf] = {}
    for page in src.pages:
        w, h = _shown_size(page)
        band_h = band_height(w)
        key = round(w, 1)
        if key not in bands:
            bands[key] = pikepdf.open(io.BytesIO(render_pdf(band_html(ctx, w, band_h))))
        new = out.add_blank_page(page_size=(w, h + band_h))
        new.add_overlay(page, pikepdf.Rectangle(0, band_h, w, h + band_h))
        new.add_overlay(bands[key].pages[0], pikepdf.Rectangle(0, 0, w, band_h))
    buf = io.BytesIO()
    out.save(buf)
    return buf.getvalue(), count


def cobrand_image(data: bytes, mime: str, ctx: dict, size: tuple[int, int]) -> tuple[bytes, int]:
    """A one-page PDF of the image ``data`` (``mime``, ``size`` its pixels: width,
    height) on A4, landscape when the image is wider than tall, with the band under it.
    Returns ``(pdf_bytes, 1)``."""
    from core.content.branding import data_uri

    w, h = A4 if size[1] >= size[0] else (A4[1], A4[0])
    band_h = band_height(w)
    band = band_html(ctx, w, band_h)
    body = band[band.index('<div class="band">'):band.index("</body>")]
    style = band[band.index("<style>") + 7:band.index("</style>")].replace(
        f"size: {w:.2f}pt {band_h:.2f}pt", f"size: {w:.2f}pt {h:.2f}pt")
    html = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><style>{style}
.picture {{ height: {h - band_h:.2f}pt; display: flex; align-items: center;
  justify-content: center; }}
.picture img {{ max-width: {w:.2f}pt; max-height: {h - band_h:.2f}pt; object-fit: contain; }}
</style></head><body><div class="picture"><img src="{data_uri(mime, data)}" alt=""></div>
{body}</body></html>"""
    return render_pdf(html), 1
