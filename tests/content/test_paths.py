"""Learning paths: content staff group modules in order; partners see their progress;
bad paths are refused with nothing stored (rules: "Learning paths and certificates")."""

import pytest
from conftest import api_token, login, make_partner, make_staff, submit
from sqlalchemy import select

from core.base.errors import ValidationError
from core.base.extensions import db
from core.base.models import AuditLog
from core.content.models import LearningPath, LearningPathStep, TrainingCompletion, TrainingModule
from core.content.paths import paths_for, save_path


def modules(n=3, prefix="sell"):
    """``n`` quiz-free modules ``<prefix>-1``..."""
    rows = [TrainingModule(slug=f"{prefix}-{i}", title=f"Selling step {i}", channel="sales",
                           body="Read me.", position=100 + i) for i in range(1, n + 1)]
    db.session.add_all(rows)
    db.session.commit()
    return rows


def test_content_staff_build_a_path_in_the_back_office(app, client):
    with app.app_context():
        modules()
        make_staff("content@example.com", ("content",))
        make_staff("fin@example.com", ("finance",))
    fin = app.test_client()
    assert login(fin, "fin@example.com").status_code == 302
    assert fin.get("/admin/learning-paths/new").status_code == 403
    assert login(client, "content@example.com").status_code == 302
    # a module that does not exist: refused with a sentence, nothing stored
    bad = submit(client, "/admin/learning-paths/new",
                 {"title": "Closing 101", "slug": "closing-101", "description": "",
                  "modules": "sell-2\nsell-9", "active": "y"})
    assert bad.status_code == 422
    assert "There is no training module with the slug “sell-9”" in bad.get_data(as_text=True)
    resp = submit(client, "/admin/learning-paths/new",
                  {"title": "Closing 101", "slug": "closing-101",
                   "description": "From first call to signature.",
                   "modules": "sell-2\nsell-1\nsell-3", "active": "y"})
    assert resp.status_code == 302
    with app.app_context():
        path = db.session.scalar(select(LearningPath))
        assert [s.module.slug for s in path.steps] == ["sell-2", "sell-1", "sell-3"]
        path_id = path.id
    assert "Closing 101" in client.get("/admin/learning-paths/").get_data(as_text=True)
    # reorder and drop one
    resp = submit(client, f"/admin/learning-paths/{path_id}/edit",
                  {"title": "Closing 101", "slug": "closing-101", "description": "",
                   "modules": "sell-1\nsell-3", "active": "y"})
    assert resp.status_code == 302
    with app.app_context():
        steps = list(db.session.scalars(select(LearningPathStep).order_by(
            LearningPathStep.position)))
        assert [(s.position, s.module.slug) for s in steps] == [(1, "sell-1"), (2, "sell-3")]
        assert list(db.session.scalars(select(AuditLog.action).where(
            AuditLog.object_type == "learning_path").order_by(AuditLog.id))) == \
            ["learning_path.create", "learning_path.update"]


@pytest.mark.parametrize("slug, title, mods, message", [
    ("Bad Slug", "T", "sell-1", "slug takes"),
    ("ok-slug", "", "sell-1", "title"),
    ("ok-slug", "T", "", "List the path's modules"),
    ("ok-slug", "T", "sell-1\nsell-1", "appears twice"),
    ("ok-slug", "T" * 201, "sell-1", "title"),
    ("ok-slug", "T", "\n".join(f"sell-{i}" for i in range(60)), "at most 50"),
])
def test_bad_paths_are_refused_and_nothing_is_stored(ctx, slug, title, mods, message):
    modules(2)
    with pytest.raises(ValidationError, match=message):
        save_path(None, None, slug, title, "", mods)
    db.session.rollback()
    assert db.session.scalar(select(db.func.count()).select_from(LearningPath)) == 0


def test_duplicate_slug_is_refused(ctx):
    modules(2)
    save_path(None, None, "one", "One", "", "sell-1")
    with pytest.raises(ValidationError, match="already uses"):
        save_path(None, None, "one", "Other", "", "sell-2")


def test_partner_sees_progress_on_the_page_and_the_api(app, client):
    with app.app_context():
        rows = modules(4)
        save_path(None, None, "closing-101", "Closing 101", "Call to signature.",
                  ["sell-1", "sell-2", "sell-3", "sell-4"])
        save_path(None, None, "hidden", "Hidden", "", ["sell-1"], active=False)
        p = make_partner("Pia Path", email="pia@example.com")
        for m in rows[:2]:
            db.session.add(TrainingCompletion(partner_id=p.id, module_id=m.id))
        db.session.commit()
        [row] = paths_for(p)
        assert (row["done"], row["total"], row["percent"]) == (2, 4, 50)
        assert row["next_module"].slug == "sell-3"
    assert login(client, "pia@example.com").status_code == 302
    page = client.get("/partner/learning-paths").get_data(as_text=True)
    assert "2 of 4 modules passed" in page and "Next: Selling step 3" in page
    assert "Hidden" not in page
    data = client.get("/api/partner/learning-paths",
                      headers=api_token(app.test_client(), "pia@example.com")).get_json()
    [item] = data["items"]
    assert item["done"] == 2 and item["percent"] == 50 and item["certificate"] is None
    assert [s["completed"] for s in item["steps"]] == [True, True, False, False]
