"""Marketing resources: upload rules for content staff, tier locking and counted downloads
for partners (rules: "Resources").

Upload rules
------------
- Allowed kinds: PDF, PNG, JPEG, MP4 and HTML template (:data:`KINDS`); at most
  ``ASSET_MAX_BYTES`` (default 50 MB).
- The file name's extension must match the content, read from the first bytes: PDF
  starts ``%PDF-``, PNG with its 8-byte signature, JPEG with the SOI marker ``FF D8 FF``,
  MP4 has an ``ftyp`` box at offset 4, an HTML template is UTF-8 text (no NUL) whose
  first non-blank character is ``<``.
- Images are re-encoded with Pillow (no metadata kept). Their pixel count is read from the
  header and checked *before* any pixel is decoded, so a decompression bomb is refused
  without being decoded.
- The file is stored as ``STORAGE_DIR/assets/<random hex>.<ext>``; the uploader's file
  name is kept for display only.

Anything else is refused with a :class:`~core.base.errors.ValidationError` whose message says
what to do; nothing is stored on a refusal. Every upload and change is audited.
"""

import codecs
import hashlib
import io
import os
import re
import secrets
import tempfile
import warnings
from typing import BinaryIO

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select, update

from core.base.audit import audit
from core.base.errors import Forbidden, NotFound, ValidationError
from core.base.extensions import db, get_row
from core.base.timeutil import now_utc
from core.content.models import Resource
from core.program.models import Partner
from core.program.tiers import all_tiers, standing, tier_by_key

#: Category key → label, in the order the resources page shows them.
CATEGORIES = {
    "brochure": "Brochures",
    "presentation": "Presentations",
    "case_study": "Case studies",
    "social": "Social media",
    "video": "Videos",
    "template": "Templates",
    "other": "Other",
}
#: File kind → (label, extensions accepted, stored extension, MIME type of downloads).
KINDS = {
    "pdf": ("PDF", (".pdf",), ".pdf", "application/pdf"),
    "png": ("PNG image", (".png",), ".png", "image/png"),
    "jpeg": ("JPEG image", (".jpg", ".jpeg"), ".jpg", "image/jpeg"),
    "mp4": ("MP4 video", (".mp4",), ".mp4", "video/mp4"),
    "html": ("HTML template", (".html", ".htm"), ".html", "text/html; charset=utf-8"),
}
#: Kinds a co-brandable resource can be co-branded in (rules: "Co-branded resources").
COBRAND_KINDS = ("pdf", "png", "jpeg")
#: Default largest upload, bytes (rules: "Uploads": 50 MB); the ``ASSET_MAX_BYTES`` setting wins.
MAX_BYTES = 50 * 1024 * 1024
#: Largest image, in pixels (width × height), read from the header before decoding.
MAX_PIXELS = 40_000_000
#: Folder under ``STORAGE_DIR``.
#: The folder under ``STORAGE_DIR`` (it keeps the name files were first stored under).
FOLDER = "assets"

_ALLOWED_TEXT = "PDF, PNG, JPEG, MP4 or HTML template (.pdf, .png, .jpg, .jpeg, .mp4, .html)"
_STORED_NAME = re.compile(r"[0-9a-f]{32}\.(?:pdf|png|jpg|mp4|html)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_PNG_SIG = b"\x89PNG\r\n\x1a\n"


def max_bytes() -> int:
    """The upload limit in bytes: the ``ASSET_MAX_BYTES`` setting, else 50 MB."""
    from flask import current_app

    return int(current_app.config.get("ASSET_MAX_BYTES") or MAX_BYTES)


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB" if n >= 1024 * 1024 else f"{n:,} bytes"


def sniff(data: bytes, complete: bool = True) -> str | None:
    """The kind of file the bytes are (a :data:`KINDS` key), from their content only, or
    ``None`` when they are none of the allowed kinds. ``complete`` False: ``data`` is only
    the file's head (a character cut at its end is not an error; the caller checks the
    rest of an HTML file)."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(_PNG_SIG):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if len(data) >= 12 and data[4:8] == b"ftyp" and int.from_bytes(data[:4], "big") >= 8:
        return "mp4"
    if b"\x00" not in data:
        try:
            text = codecs.getincrementaldecoder("utf-8")().decode(data, final=complete)
        except UnicodeDecodeError:
            return None
        if text.lstrip("\ufeff \t\r\n").startswith("<"):
            return "html"
    return None


def kind_for_name(filename: str) -> str | None:
    """The kind a file name's extension announces, or ``None`` for any other extension."""
    ext = os.path.splitext(filename or "")[1].lower()
    for kind, (_label, exts, _stored, _mime) in KINDS.items():
        if ext in exts:
            return kind
    return None


def _reencode(data: bytes, kind: str) -> bytes:
    """Check an image's header (format, pixel count) and re-encode it without metadata."""
    fmt = "PNG" if kind == "png" else "JPEG"
    label = KINDS[kind][0]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=(fmt,))  # reads the header only
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationError(f"The image has far too many pixels; the limit is "
                              f"{MAX_PIXELS:,} pixels.") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ValidationError(f"The file is not a readable {label}; export it again.") \
            from None
    width, height = img.size
    if width < 1 or height < 1:
        raise ValidationError("The image has no pixels.")
    if width * height > MAX_PIXELS:
        raise ValidationError(f"The image is {width:,} × {height:,} pixels; the limit is "
                              f"{MAX_PIXELS:,} pixels in all. Export a smaller image.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img.load()
            img = ImageOps.exif_transpose(img)
            out = io.BytesIO()
            if kind == "png":
                has_alpha = img.mode in ("RGBA", "LA", "PA") or (
                    img.mode == "P" and "transparency" in img.info)
                img.convert("RGBA" if has_alpha else "RGB").save(out, format="PNG",
                                                                 optimize=True)
            else:
                img.convert("RGB").save(out, format="JPEG", quality=90, optimize=True)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning,
            Image.DecompressionBombError):
        raise ValidationError(f"The {label} is damaged; export it again.") from None
    return out.getvalue()


def check_file(filename, data) -> tuple[str, bytes]:
    """Apply the upload rules to one file held in memory: :func:`check_upload` on
    ``data`` (bytes). Returns ``(kind, bytes to store)``; the same errors."""
    if not isinstance(data, bytes | bytearray):
        data = b""
    kind, stored = check_upload(filename, io.BytesIO(bytes(data)))
    with stored:
        return kind, stored.read()


#: Bytes read to recognise a file's kind.
HEAD_BYTES = 64 * 1024
#: Bytes read or copied at a time.
CHUNK = 256 * 1024


def _spool(stream, limit: int):
    """Copy ``stream`` into a temporary file on disk, chunk by chunk; raises
    ``ValidationError`` as soon as it passes ``limit`` bytes (the rest is never read)."""
    out = tempfile.TemporaryFile()
    size = 0
    try:
        while chunk := stream.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise ValidationError(f"The file is larger than {_mb(limit)}. "
                                      f"Upload a smaller file.")
            out.write(chunk)
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return out, size


def _is_utf8_text(fh) -> bool:
    """True when the whole file decodes as UTF-8 without NUL characters (read in chunks)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    fh.seek(0)
    try:
        while chunk := fh.read(CHUNK):
            if b"\x00" in chunk:
                return False
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    finally:
        fh.seek(0)
    return True


def check_upload(filename, stream) -> tuple[str, BinaryIO]:
    """Apply the upload rules to one file, streaming (rules: "Uploads").

    ``filename`` is the uploader's name (only its extension is used), ``stream`` a readable
    binary stream (a request's file part). The upload is copied to a temporary file on
    disk, never whole into memory, and stops at the limit. Returns ``(kind, file to
    store)``, the file open at its start, the caller closes it: images re-encoded (decoded
    in memory, within the pixel limit), PDFs rewritten without active content
    (``core.base.pdf_clean``), MP4 and HTML as uploaded. Raises ``ValidationError`` (no
    file, too large, extension not allowed, content not matching the extension, damaged or
    huge image, unreadable PDF).
    """
    spooled, size = _spool(stream, max_bytes())
    try:
        if size == 0:
            raise ValidationError(f"Choose a file to upload: {_ALLOWED_TEXT}.")
        claimed = kind_for_name(filename if isinstance(filename, str) else "")
        if claimed is None:
            raise ValidationError(f"This type of file cannot be uploaded. Allowed: "
                                  f"{_ALLOWED_TEXT}.")
        head = spooled.read(HEAD_BYTES)
        spooled.seek(0)
        actual = sniff(head, complete=size <= HEAD_BYTES)
        if actual == "html" and not _is_utf8_text(spooled):
            actual = None
        if actual != claimed:
            ext = os.path.splitext(filename)[1].lower()
            found = f"a {KINDS[actual][0]}" if actual else "none of the allowed types"
            raise ValidationError(f"The file is named {ext} but its content is {found}. "
                                  f"Upload a real {KINDS[claimed][0]} (the name must match "
                                  f"the content).")
        if actual in ("png", "jpeg"):
            data = _reencode(spooled.read(), actual)
            spooled.close()
            return actual, io.BytesIO(data)
        if actual == "pdf":
            from core.base.pdf_clean import clean_pdf_file

            cleaned = tempfile.TemporaryFile()
            try:
                clean_pdf_file(spooled, cleaned)  # no JavaScript, actions, files, forms
            except BaseException:
                cleaned.close()
                raise
            spooled.close()
            cleaned.seek(0)
            return actual, cleaned
        return actual, spooled
    except BaseException:
        spooled.close()
        raise


def _text(value, field: str, max_len: int, required: bool, one_line: bool = True) -> str:
    text = value if isinstance(value, str) else ""
    if one_line:
        text = " ".join(_CONTROL.sub(" ", text).split())
    else:
        text = _CONTROL.sub(lambda m: m.group(0) if m.group(0) in "\n\t" else " ", text)
        text = text.replace("\r", "").strip()
    if required and not text:
        raise ValidationError(f"{field} is required.")
    if len(text) > max_len:
        raise ValidationError(f"{field} can be at most {max_len} characters.")
    return text


def _check_meta(title, category, tier_key, description) -> tuple[str, str, str, str]:
    title = _text(title, "Title", 160, True)
    if category not in CATEGORIES:
        raise ValidationError(f"Category must be one of: {', '.join(CATEGORIES)}.")
    if not isinstance(tier_key, str) or tier_by_key(tier_key) is None:
        raise ValidationError("Unknown tier; choose one of the program's tiers.")
    description = _text(description, "Description", 1000, False, one_line=False)
    return title, category, tier_key, description


def _display_name(filename) -> str:
    name = os.path.basename((filename or "").replace("\\", "/")) if isinstance(filename, str) \
        else ""
    return _CONTROL.sub("", name)[:255]


def storage_key(resource: Resource) -> str:
    """The resource's key in the file store (``assets/<stored name>``). Raises
    ``NotFound`` for a stored name that is not one the server makes (so a tampered row can
    never point elsewhere in the store)."""
    if not _STORED_NAME.fullmatch(resource.stored_name or ""):
        raise NotFound("No such resource.")
    return f"{FOLDER}/{resource.stored_name}"


def upload_resource(actor_id: int, *, title, category, tier_key, co_brandable,
                    description, filename, data=None, stream=None) -> Resource:
    """Content staff upload a marketing resource.

    Args: ``actor_id`` the staff user; ``title`` (1–160
    chars, one line); ``category`` (a :data:`CATEGORIES` key); ``tier_key`` (a tier's
    key); ``co_brandable`` (bool); ``description`` (0–1000 chars); ``filename`` (the
    uploader's name, display only); the file as ``stream`` (a readable binary stream,
    streamed: see :func:`check_upload`) or ``data`` (bytes).
    Returns the new ``Resource`` (flushed, audited, not committed). The file is written
    atomically to ``assets/`` in the file store; if the row cannot be flushed the file is
    removed again. Raises ``ValidationError``, before anything is written.
    """
    from core.ops.storage import get_storage

    title, category, tier_key, description = _check_meta(title, category, tier_key,
                                                         description)
    if stream is None:
        stream = io.BytesIO(bytes(data) if isinstance(data, bytes | bytearray) else b"")
    kind, stored = check_upload(filename, stream)
    with stored:
        digest = hashlib.sha256()
        while chunk := stored.read(CHUNK):
            digest.update(chunk)
        stored.seek(0)
        name = secrets.token_hex(16) + KINDS[kind][2]
        store = get_storage()
        size = store.save(f"{FOLDER}/{name}", stored)
    resource = Resource(title=title, category=category, description=description,
                        min_tier_key=tier_key, co_brandable=bool(co_brandable),
                        file_kind=kind, size_bytes=size, sha256=digest.hexdigest(),
                        original_name=_display_name(filename), stored_name=name,
                        uploaded_by_id=actor_id)
    try:
        db.session.add(resource)
        db.session.flush()
    except Exception:
        store.delete(f"{FOLDER}/{name}")
        raise
    audit(actor_id, "resource.upload", "resource", resource.id, None,
          {"title": title, "category": category, "tier": tier_key,
           "co_brandable": resource.co_brandable, "kind": kind, "size_bytes": size,
           "original_name": resource.original_name, "stored_name": name})
    return resource


#: Fields staff may change after upload (the file itself is replaced by a new upload).
EDITABLE = ("title", "category", "min_tier_key", "co_brandable", "description", "active")


def update_resource(resource_id, actor_id: int, changes: dict) -> Resource:
    """Change an resource's catalogue data (:data:`EDITABLE` keys only) and audit the change.

    Raises ``NotFound`` or ``ValidationError`` (unknown key or a value the upload rules
    refuse)."""
    resource = get_row(Resource, resource_id)
    if resource is None:
        raise NotFound("No such resource.")
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise ValidationError(f"These fields cannot be changed: {', '.join(unknown)}.")
    merged = {k: getattr(resource, k) for k in EDITABLE} | changes
    title, category, tier_key, description = _check_meta(
        merged["title"], merged["category"], merged["min_tier_key"], merged["description"])
    new = {"title": title, "category": category, "min_tier_key": tier_key,
           "description": description, "co_brandable": bool(merged["co_brandable"]),
           "active": bool(merged["active"])}
    before = {k: getattr(resource, k) for k in new if getattr(resource, k) != new[k]}
    if not before:
        return resource
    for k in before:
        setattr(resource, k, new[k])
    resource.updated_at = now_utc()
    action = "resource.update"
    if "active" in before:
        action = "resource.reactivate" if resource.active else "resource.deactivate"
    audit(actor_id, action, "resource", resource.id, before, {k: new[k] for k in before})
    return resource


def set_active(resource_ids, actor_id: int, active: bool) -> int:
    """Deactivate (or reactivate) resources; returns how many changed. Each change audited."""
    changed = 0
    for aid in resource_ids:
        resource = get_row(Resource, aid)
        if resource is None:
            raise NotFound(f"No resource #{aid}.")
        if resource.active != active:
            update_resource(resource.id, actor_id, {"active": active})
            changed += 1
    return changed


# --- partners --------------------------------------------------------------------------

def _ranks() -> dict[str, tuple[int, str]]:
    """``{tier key: (min_deals, name)}`` of every tier (one query)."""
    return {t.key: (t.min_deals, t.name) for t in all_tiers()}


def _unlocked(partner_rank: int, resource: Resource, ranks: dict) -> bool:
    need = ranks.get(resource.min_tier_key)
    return need is not None and partner_rank >= need[0]


def resources_for(partner: Partner) -> list[dict]:
    """Active resources for the resources page, by category (the :data:`CATEGORIES` order),
    newest first within one: ``[{"key", "label", "items": [{"resource", "unlocked",
    "tier"}]}]`` with only categories that have resources. ``tier`` is the name of the tier
    that unlocks the resource."""
    ranks = _ranks()
    rank = standing(partner).tier.min_deals
    rows = db.session.scalars(select(Resource).where(Resource.active)
                              .order_by(Resource.created_at.desc(), Resource.id.desc()))
    groups = {key: [] for key in CATEGORIES}
    for a in rows:
        groups.setdefault(a.category, []).append({
            "resource": a, "unlocked": _unlocked(rank, a, ranks),
            "tier": ranks.get(a.min_tier_key, (0, a.min_tier_key))[1]})
    return [{"key": k, "label": CATEGORIES.get(k, k.title()), "items": items}
            for k, items in groups.items() if items]


def resource_for_download(partner: Partner, resource_id) -> Resource:
    """The resource a partner asks to download, if they may.

    Raises ``NotFound`` (unknown or inactive: the same answer for both) or ``Forbidden``
    (the partner's effective tier is below the resource's; the message names the tier)."""
    resource = get_row(Resource, resource_id)
    if resource is None or not resource.active:
        raise NotFound("No such resource.")
    ranks = _ranks()
    if not _unlocked(standing(partner).tier.min_deals, resource, ranks):
        name = ranks.get(resource.min_tier_key, (0, "a higher"))[1]
        raise Forbidden(f"“{resource.title}” unlocks at {name} tier.", code="tier_locked")
    return resource


#: Life of a download link made by :func:`download_link_token` (seconds).
DOWNLOAD_LINK_SECONDS = 600
_LINK_SALT = "siso.resource-download.v1"


def _link_serializer():
    from flask import current_app
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_LINK_SALT)


def download_link_token(partner: Partner, resource_id) -> tuple[Resource, str, object]:
    """Record a download of a resource the partner may have and make a link that fetches
    the file once more without a login, for :data:`DOWNLOAD_LINK_SECONDS` (an app hands
    it to the phone's downloader or share sheet). Rules: "Resource downloads".

    Returns ``(resource, token, expires_at UTC)``; the count is raised now (not
    committed), fetching the link does not count again. Raises what
    :func:`resource_for_download` raises."""
    from datetime import timedelta

    resource = resource_for_download(partner, resource_id)
    count_download(resource)
    token = _link_serializer().dumps([resource.id, partner.id])
    return resource, token, now_utc() + timedelta(seconds=DOWNLOAD_LINK_SECONDS)


def resource_for_link(token) -> Resource:
    """The resource a download link made by :func:`download_link_token` fetches, checked
    again now (the partner still active and allowed, the resource still active).

    Raises ``DomainError`` 410 ``link_expired`` for a link older than
    :data:`DOWNLOAD_LINK_SECONDS`, ``NotFound`` for an altered link or one that no longer
    leads anywhere, ``Forbidden`` when the partner's tier no longer unlocks it."""
    from itsdangerous import BadSignature, SignatureExpired

    from core.base.errors import DomainError

    try:
        resource_id, partner_id = _link_serializer().loads(token, max_age=DOWNLOAD_LINK_SECONDS)
    except SignatureExpired:
        raise DomainError("This download link has expired (links work for 10 minutes). Ask "
                          "the app for a new one.", code="link_expired", status=410) from None
    except (BadSignature, ValueError, TypeError):
        raise NotFound("No such download.") from None
    partner = get_row(Partner, partner_id)
    if partner is None or partner.status != "active":
        raise NotFound("No such download.")
    return resource_for_download(partner, resource_id)


def count_download(resource: Resource) -> None:
    """Add one to the resource's download count in the database (one atomic UPDATE, so
    concurrent downloads are all counted)."""
    db.session.execute(update(Resource).where(Resource.id == resource.id)
                       .values(download_count=Resource.download_count + 1))


def download_name(resource: Resource) -> str:
    """The file name offered to the browser: the title made safe, with the kind's
    extension (never the stored or the uploaded name as is)."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", resource.title).strip("-.")[:80] or "resource"
    return base + KINDS[resource.file_kind][2]


def mime_type(resource: Resource) -> str:
    return KINDS[resource.file_kind][3]
