"""Certificates of learning paths: issued once per partner and path, rendered to PDF by
the worker with the co-branded template machinery (the partner's branding, a QR code of
the verification page), verifiable by anyone at ``/verify/<code>`` (rules: "Learning
paths and certificates")."""

import re
import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.base.errors import NotFound
from core.base.extensions import db, get_row
from core.base.jobs import QUEUE_DEFAULT, QUEUE_PDF, job, job_logger, last_try
from core.base.pdf import TEMPLATES_DIR, render_limits, render_pdf_with_pages
from core.base.timeutil import now_utc
from core.community.notifications import notify
from core.content.models import Certificate, LearningPath
from core.ops.storage import get_storage
from core.program.models import Partner

#: Letters and digits of a code: no 0/O, 1/I/L (read aloud or typed from paper).
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
#: ``XXXX-XXXX-XXXX-XXXX``: 16 characters of 31, about 79 random bits.
CODE_RE = re.compile(r"^[A-HJKMNP-Z2-9]{4}(?:-[A-HJKMNP-Z2-9]{4}){3}$")
#: The certificate's template (a material template's two parts).
TEMPLATE_DIR = TEMPLATES_DIR / "pdf" / "certificates"
#: Where the portal lists certificates (notifications link there).
PATHS_URL = "/partner/learning-paths"


def new_code() -> str:
    """A fresh random verification code, ``XXXX-XXXX-XXXX-XXXX``."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(16))
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


def normalise_code(code) -> str | None:
    """A code as typed (any case, spaces, with or without hyphens) in its stored form,
    or ``None`` when it cannot be one."""
    if not isinstance(code, str) or len(code) > 40:
        return None
    raw = re.sub(r"[\s-]", "", code).upper()
    if len(raw) != 16:
        return None
    code = "-".join(raw[i:i + 4] for i in range(0, 16, 4))
    return code if CODE_RE.match(code) else None


def verify_path(code: str) -> str:
    """The public verification page of ``code``: ``/verify/<code>``."""
    return f"/verify/{code}"


def issue(partner: Partner, path: LearningPath) -> Certificate | None:
    """Issue ``partner``'s certificate of ``path`` (pending) and queue its rendering
    after the commit. Returns ``None`` when they hold it already (also when a
    concurrent transaction issued it: a savepoint guards the unique key)."""
    try:
        with db.session.begin_nested():
            cert = Certificate(partner_id=partner.id, path_id=path.id, code=new_code(),
                               holder_name=partner.user.name[:200],
                               path_title=path.title[:200], issued_at=now_utc(),
                               status="pending")
            db.session.add(cert)
            db.session.flush()
    except IntegrityError:
        return None
    render_certificate.after_commit(cert.id, job_id=f"certificate-{cert.id}")
    return cert


def certificate_html(cert: Certificate) -> str:
    """The certificate as a complete HTML document: the built-in certificate template
    rendered by ``core.content.materials.render_material_html`` (sandboxed, autoescaped)
    with the partner's branding, and the QR code of the verification URL."""
    from core.base.mail import public_url
    from core.content.materials import branding_values, material_context, render_material_html

    url = public_url(verify_path(cert.code))
    ctx = material_context(branding_values(cert.partner), url, False)
    ctx["certificate"] = {
        "holder_name": cert.holder_name, "path_title": cert.path_title,
        "issued_on": f"{cert.issued_at:%d %B %Y}".lstrip("0"), "code": cert.code,
        "verify_url": url,
        "modules": [s.module.title for s in cert.path.steps],
    }
    template = {"name": f"Certificate: {cert.path_title}",
                "html": (TEMPLATE_DIR / "certificate.html").read_text(encoding="utf-8"),
                "css": (TEMPLATE_DIR / "certificate.css").read_text(encoding="utf-8")}
    return render_material_html(template, ctx)


@job(queue=QUEUE_PDF, timeout="PDF_JOB_TIMEOUT", retries=1)
def render_certificate(certificate_id: int) -> str:
    """Render a certificate to ``certificates/<partner>/<code>.pdf`` in the file store
    and tell the partner it is ready (a notification linking to their paths). Idempotent:
    a certificate already rendered is left as it is. On its last try a failure is
    recorded on the row (``failed``, with the reason) and the error re-raised.
    Returns the stored relative path."""
    log = job_logger(__name__)
    cert = db.session.get(Certificate, certificate_id)
    if cert is None:
        log.warning("certificate %s vanished", certificate_id)
        return ""
    store = get_storage()
    if cert.status == "ready" and cert.file_path and store.exists(cert.file_path):
        return cert.file_path
    rel = f"certificates/{cert.partner_id}/{cert.code}.pdf"
    try:
        with render_limits():
            pdf, _ = render_pdf_with_pages(certificate_html(cert))
    except Exception as exc:
        if last_try():
            db.session.rollback()
            cert = db.session.get(Certificate, certificate_id)
            cert.status, cert.error = "failed", f"The certificate could not be made: {exc}"[:2000]
            db.session.commit()
        raise
    store.put_bytes(rel, pdf)
    cert.status, cert.file_path, cert.error = "ready", rel, ""
    notify(cert.partner.user_id, "certificate", f"Your certificate is ready: {cert.path_title}",
           "Download it, or share its verification link.", PATHS_URL)
    log.info("certificate %s rendered to %s", certificate_id, rel)
    return rel


def verify(code) -> Certificate:
    """The certificate with verification ``code`` (as typed), for the public page.
    Raises ``NotFound`` for anything else (malformed or unknown alike)."""
    code = normalise_code(code)
    cert = db.session.scalar(select(Certificate).where(Certificate.code == code)) \
        if code else None
    if cert is None:
        raise NotFound("There is no certificate with this code. Check the code printed on "
                       "the certificate.")
    return cert


def get_certificate_for(user, certificate_id) -> Certificate:
    """A certificate the user may download: only the partner it was issued to.
    Raises ``NotFound`` for anyone else (never tells whether it exists)."""
    cert = get_row(Certificate, certificate_id)
    if cert is None or user is None or user.partner is None or \
            cert.partner_id != user.partner.id:
        raise NotFound("No such certificate.")
    return cert


def certificate_pdf(cert: Certificate) -> bytes:
    """The stored PDF of a ready certificate. Raises ``NotFound`` while it is being
    made (or when it failed)."""
    if cert.status != "ready" or not cert.file_path or not get_storage().exists(cert.file_path):
        raise NotFound("This certificate is still being prepared; try again in a minute.")
    return get_storage().read_bytes(cert.file_path)


def file_name(cert: Certificate) -> str:
    """The download's file name: ``siso-certificate-<path slug>.pdf``."""
    return f"siso-certificate-{cert.path.slug}.pdf"


@job(queue=QUEUE_DEFAULT, every=3600)
def issue_missing_certificates() -> int:
    """Scheduled (hourly): issue the certificates partners earned without passing a
    module just then (a path created or extended after they had passed its modules).
    Three queries whatever the number of partners, plus one issue per certificate due.
    Returns how many were issued."""
    from core.content.models import TrainingCompletion
    from core.content.paths import active_paths

    paths = active_paths()
    if not paths:
        return 0
    passed: dict[int, set[int]] = {}
    for pid, mid in db.session.execute(
            select(TrainingCompletion.partner_id, TrainingCompletion.module_id)
            .join(Partner, Partner.id == TrainingCompletion.partner_id)
            .where(Partner.status == "active")).all():
        passed.setdefault(pid, set()).add(mid)
    held = set(db.session.execute(select(Certificate.partner_id, Certificate.path_id)).all())
    made = 0
    for pid, modules in passed.items():
        for path in paths:
            if (pid, path.id) not in held and all(s.module_id in modules for s in path.steps):
                made += issue(db.session.get(Partner, pid), path) is not None
    return made
