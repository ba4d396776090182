"""Uploaded PDFs, rewritten without what can act on a reader's machine (rules: "Uploads"):
JavaScript, automatic and interactive actions other than plain links, embedded files and
forms. Chat attachments and marketing resources are stored only as rewritten here.

The rewrite is pikepdf's (qpdf): the file is parsed, the active parts are removed from
every object, and it is saved again with its streams passed through undecoded (a stream
that inflates to gigabytes is never inflated).
"""

import io
from typing import BinaryIO

from core.base.errors import ValidationError

#: Actions kept: following a web link or going to a place in the same document.
SAFE_ACTIONS = frozenset({"/URI", "/GoTo"})
#: Annotation kinds removed whole: they carry files, media, scripts or form fields.
ACTIVE_ANNOTATIONS = frozenset({"/FileAttachment", "/Widget", "/Screen", "/Movie", "/Sound",
                                "/RichMedia", "/3D"})
#: Keys removed from every dictionary: additional (event) actions and JavaScript.
ACTIVE_KEYS = ("/AA", "/JS")


def _drop_unsafe_action(holder) -> None:
    """Remove ``holder``'s ``/A`` action unless it (and every ``/Next`` after it) is a
    link or an in-document jump."""
    import pikepdf

    action = holder.get("/A")
    while isinstance(action, pikepdf.Dictionary):
        if str(action.get("/S", "")) not in SAFE_ACTIONS:
            del holder["/A"]
            return
        action = action.get("/Next")


def clean_pdf(data: bytes) -> bytes:
    """Return ``data`` (a PDF) rewritten without JavaScript, launch/submit/import and
    other non-link actions, open actions, embedded files, forms and active annotations.

    Raises ``ValidationError`` when the file cannot be read as a PDF, or is encrypted (it
    could not be checked)."""
    out = io.BytesIO()
    clean_pdf_file(io.BytesIO(data), out)
    return out.getvalue()


def clean_pdf_file(src: BinaryIO, dst: BinaryIO) -> None:
    """:func:`clean_pdf` from one seekable binary file to another, for uploads too large to
    hold in memory (pikepdf reads ``src`` as it needs it). Same errors."""
    import pikepdf

    pdf = _open(src)
    with pdf:
        if pdf.is_encrypted:
            raise ValidationError("That PDF is encrypted; upload one without encryption.")
        _clean_catalog(pdf.Root)
        for page in pdf.pages:
            _drop_active_annotations(page.obj)
        for obj in pdf.objects:
            if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
                _clean_object(obj)
        pdf.save(dst, stream_decode_level=pikepdf.StreamDecodeLevel.none,
                 object_stream_mode=pikepdf.ObjectStreamMode.preserve, deterministic_id=True)


def _open(src: BinaryIO):
    import pikepdf

    try:
        return pikepdf.open(src)
    except pikepdf.PasswordError:
        raise ValidationError("That PDF is password-protected; upload one without a "
                              "password.") from None
    except (pikepdf.PdfError, ValueError, OSError):
        raise ValidationError("That file could not be read as a PDF.") from None


def _clean_catalog(root) -> None:
    """No open action, form or document actions; no JavaScript or embedded-file names."""
    import pikepdf

    for key in ("/OpenAction", "/AcroForm", "/AA"):
        if key in root:
            del root[key]
    names = root.get("/Names")
    if isinstance(names, pikepdf.Dictionary):
        for key in ("/JavaScript", "/EmbeddedFiles"):
            if key in names:
                del names[key]


def _drop_active_annotations(page) -> None:
    import pikepdf

    annots = page.get("/Annots")
    if isinstance(annots, pikepdf.Array):
        page["/Annots"] = pikepdf.Array(
            [a for a in annots if not (isinstance(a, pikepdf.Dictionary) and
                                       str(a.get("/Subtype", "")) in ACTIVE_ANNOTATIONS)])


def _clean_object(obj) -> None:
    """No event actions or JavaScript, no action but a link, no embedded file."""
    for key in ACTIVE_KEYS:
        if key in obj:
            del obj[key]
    if "/A" in obj:
        _drop_unsafe_action(obj)
    if "/EF" in obj:  # a file specification carrying an embedded file
        del obj["/EF"]
