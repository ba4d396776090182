"""Learning paths: training modules grouped into ordered paths that content staff
write; a partner who has passed every module of an active path gets its certificate
(rules: "Learning paths and certificates")."""

import re

from sqlalchemy import select

from core.base.audit import audit
from core.base.errors import NotFound, ValidationError
from core.base.extensions import db, get_row
from core.base.timeutil import now_utc
from core.content.models import (
    Certificate,
    LearningPath,
    LearningPathStep,
    TrainingCompletion,
    TrainingModule,
)
from core.program.models import Partner

#: Slugs: lower-case letters, digits and single hyphens, 2-80 characters.
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){1,79}$")
#: Most modules in one path.
MAX_STEPS = 50


def _text(value, label: str, hi: int, required: bool = True) -> str:
    value = (value or "").strip() if isinstance(value, str | type(None)) else None
    if value is None or (required and not value) or len(value) > hi:
        raise ValidationError(f"{label} must be {'1' if required else '0'} to {hi} characters.")
    if any(ord(c) < 32 and c not in "\n\r\t" for c in value):
        raise ValidationError(f"{label} cannot contain control characters.")
    return value


def _module_ids(module_slugs) -> list[int]:
    """The modules named by slug (a list, or text with one slug per line), in order."""
    if isinstance(module_slugs, str):
        module_slugs = [s.strip() for s in module_slugs.splitlines() if s.strip()]
    if not isinstance(module_slugs, list) or not module_slugs or \
            not all(isinstance(s, str) for s in module_slugs):
        raise ValidationError("List the path's modules, one slug per line, in order.")
    if len(module_slugs) > MAX_STEPS:
        raise ValidationError(f"A path holds at most {MAX_STEPS} modules.")
    if len(set(module_slugs)) != len(module_slugs):
        raise ValidationError("A module appears twice in the path; list each once.")
    found = dict(db.session.execute(select(TrainingModule.slug, TrainingModule.id).where(
        TrainingModule.slug.in_(module_slugs))).all())
    for slug in module_slugs:
        if slug not in found:
            raise ValidationError(f"There is no training module with the slug “{slug[:80]}”.")
    return [found[s] for s in module_slugs]


def save_path(actor_id: int, path_id, slug, title, description, module_slugs,
              active: bool = True) -> LearningPath:
    """Create (``path_id`` ``None``) or change a learning path (content staff; audited
    ``learning_path.create`` / ``learning_path.update``).

    Args: ``slug`` (``a-z0-9`` and hyphens, 2-80, unique), ``title`` (1-200),
    ``description`` (0-1,000), ``module_slugs`` (the modules in order: a list of slugs
    or text with one per line; 1-50, each once), ``active``. Certificates already
    issued stay. Raises ``ValidationError`` (nothing stored), ``NotFound``."""
    path = None
    if path_id is not None:
        path = get_row(LearningPath, path_id)
        if path is None:
            raise NotFound("No such learning path.")
    slug = _text(slug, "The slug", 80)
    if not SLUG_RE.match(slug):
        raise ValidationError("The slug takes lower-case letters, digits and single hyphens "
                              "(2 to 80 characters).")
    title = _text(title, "The title", 200)
    description = _text(description, "The description", 1000, required=False)
    ids = _module_ids(module_slugs)
    clash = db.session.scalar(select(LearningPath.id).where(LearningPath.slug == slug))
    if clash is not None and (path is None or clash != path.id):
        raise ValidationError(f"Another path already uses the slug “{slug}”.")
    before = None
    if path is None:
        path = LearningPath(slug=slug, title=title, description=description,
                            active=bool(active))
        db.session.add(path)
    else:
        before = {"slug": path.slug, "title": path.title, "active": path.active,
                  "modules": [s.module_id for s in path.steps]}
        path.slug, path.title, path.description = slug, title, description
        path.active, path.updated_at = bool(active), now_utc()
        path.steps.clear()
        db.session.flush()  # the old steps go before the new positions are written
    db.session.flush()
    for i, mid in enumerate(ids, 1):
        path.steps.append(LearningPathStep(path_id=path.id, module_id=mid, position=i))
    db.session.flush()
    audit(actor_id, "learning_path.update" if before else "learning_path.create",
          "learning_path", path.id, before,
          {"slug": slug, "title": title, "active": bool(active), "modules": ids})
    return path


def active_paths() -> list[LearningPath]:
    """Active paths with at least one module, by title."""
    return [p for p in db.session.scalars(select(LearningPath).where(LearningPath.active)
                                          .order_by(LearningPath.title, LearningPath.id))
            if p.steps]


def paths_for(partner: Partner) -> list[dict]:
    """Every active path with the partner's progress, for the portal and the API.

    Returns ``[{"path", "steps": [{"module", "completed": bool, "unlocked": bool}],
    "done": int, "total": int, "percent": int, "next_module": TrainingModule | None,
    "certificate": Certificate | None}]``. Three queries plus the paths' steps."""
    from core.content.training import module_unlocked

    passed = set(db.session.scalars(select(TrainingCompletion.module_id).where(
        TrainingCompletion.partner_id == partner.id)))
    certs = {c.path_id: c for c in db.session.scalars(select(Certificate).where(
        Certificate.partner_id == partner.id))}
    out = []
    for path in active_paths():
        steps = [{"module": s.module, "completed": s.module_id in passed,
                  "unlocked": module_unlocked(partner, s.module)} for s in path.steps]
        done = sum(s["completed"] for s in steps)
        nxt = next((s["module"] for s in steps if not s["completed"]), None)
        out.append({"path": path, "steps": steps, "done": done, "total": len(steps),
                    "percent": round(100 * done / len(steps)), "next_module": nxt,
                    "certificate": certs.get(path.id)})
    return out


def issue_due(partner: Partner) -> list[Certificate]:
    """Issue the certificate of every active path the partner has now passed entirely
    and holds none for (called when a module is passed, in its transaction, and by the
    scheduled catch-up). Each is rendered by the worker after the commit. Only active
    partners get certificates. Returns the new certificates."""
    from core.content.certificates import issue

    if partner.status != "active":
        return []
    passed = set(db.session.scalars(select(TrainingCompletion.module_id).where(
        TrainingCompletion.partner_id == partner.id)))
    held = set(db.session.scalars(select(Certificate.path_id).where(
        Certificate.partner_id == partner.id)))
    made = []
    for path in active_paths():
        if path.id not in held and all(s.module_id in passed for s in path.steps):
            cert = issue(partner, path)
            if cert is not None:
                made.append(cert)
    return made
