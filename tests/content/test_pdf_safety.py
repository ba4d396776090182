"""Safety of the document factory (rules: "Template sandbox", "Uploads"), with a real worker and WeasyPrint:

- hostile text in every partner-controlled field and in a staff template loads nothing
  (a local HTTP server counts requests: zero), and the PDFs still render;
- a runaway template fails its job visibly (error on the row, in the back office, and a
  notification to the requester) under the time and memory limits, while the same
  worker goes on to render the next job.
"""

import http.server
import io
import threading

import pypdf
import pytest
from conftest import login, make_partner, make_staff

from core.base.errors import ValidationError
from core.base.extensions import db
from core.base.timeutil import now_utc
from core.community.models import Notification
from core.content.branding import save_branding
from core.content.materials import (
    install_builtin_templates,
    prepare_template_change,
    request_material,
)
from core.content.models import MaterialRender, MaterialTemplate
from core.money.models import Statement
from core.money.statements import issue_statement
from core.program.leads import create_lead, move_lead
from core.program.models import Partner


@pytest.fixture
def recording_server():
    """A local HTTP server that answers anything and records every request."""
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            seen.append(self.path)
            body = b"root:x:0:0:leaked"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def payloads(base: str) -> list[str]:
    return [
        "<img src=file:///etc/passwd>",
        f"<img src={base}/img.png>",
        f"<link rel=attachment href={base}/attach.txt>",
        "<link rel=attachment href=file:///etc/passwd>",
        f"<style>@import url({base}/import.css); body{{background:url(file:///etc/passwd)}}</style>",
        f"url(file:///etc/passwd) @import '{base}/x.css';",
    ]


def make_hostile_template(base: str, actor_id: int) -> MaterialTemplate:
    """A staff template (raw HTML and CSS, not escaped) that tries every way to load."""
    html = f"""<h1>{{{{ partner.display_name }}}}</h1><p>{{{{ partner.contact_line }}}}</p>
      <img src="file:///etc/passwd"><img src="{base}/tpl.png"><img src="/etc/passwd">
      <link rel="attachment" href="{base}/tpl-attach.txt">
      <link rel="attachment" href="file:///etc/passwd">
      <link rel="stylesheet" href="{base}/tpl.css">
      <object data="{base}/o.svg"></object><iframe src="{base}/frame"></iframe>
      <svg width="10" height="10"><image href="{base}/s.png" width="10" height="10"/></svg>
      <img src="{{{{ qr }}}}" alt="qr">"""
    css = f"""@import url("{base}/import.css"); @import "file:///etc/passwd";
      @font-face {{ font-family: X; src: url("{base}/f.woff"), url(file:///etc/passwd) }}
      body {{ background: url(file:///etc/passwd); font-family: X, "DejaVu Sans" }}
      h1 {{ background-image: url("{base}/bg.png"); color: {{{{ brand.primary }}}} }}"""
    t = MaterialTemplate(key="hostile", name="Hostile", kind="other", min_tier_key="starter",
                         html=html, css=css)
    db.session.add(t)
    prepare_template_change(t, True, actor_id, True)
    return t


def test_hostile_input_loads_nothing_and_still_renders(app, run_worker, recording_server):
    """Markup in the partner's name, company, lead names (statement lines), display name
    and contact line, and a template full of file:, @import, remote <img> and
    <link rel=attachment>: the worker renders every PDF, the local server receives no
    request, nothing is attached to the PDFs and the hostile text prints as text."""
    base, seen = recording_server
    bad = payloads(base)
    with app.app_context():
        staff = make_staff("content@example.com", ("content", "finance"))
        p = make_partner(bad[0][:100], email="hostile@example.com", deals=4)  # + 6 = Performer
        p.company_name = bad[2][:200]
        for i, text in enumerate(bad):
            lead = create_lead(p, {"company_name": text[:200]}, p.user_id)
            move_lead(lead, "won", p.user_id, 150000 + i)
            from core.money.commissions import confirm_deal
            confirm_deal(lead.id, staff.id)
        save_branding(p, bad[4][:80], bad[5][:160], "#0F766E")
        install_builtin_templates()
        tpl = make_hostile_template(base, staff.id)
        # Previewed with the hostile partner's branding, and published by hand (the
        # review screen's rule, "publish after a ready preview", has its own test).
        from core.content.materials import request_preview

        request_preview(tpl.id, p.id, staff.id)
        tpl.published_at = now_utc()
        db.session.commit()
        storage = app.config["STORAGE_DIR"]
        ids = [request_material(p, p.user_id, t.id, f"{base}/r/QR")[0].id
               for t in db.session.scalars(db.select(MaterialTemplate))]
        now = now_utc()
        st = issue_statement(p.id, now.year, now.month, staff.id)
        db.session.commit()
        sid, tpl_id = st.id, tpl.id

    run_worker()

    with app.app_context():
        st = db.session.get(Statement, sid)
        assert st.status == "ready", st.error
        files = [st.file_path]
        for rid in ids:
            row = db.session.get(MaterialRender, rid)
            assert row.status == "ready", (row.template.key, row.error)
            files.append(row.file_path)
        assert db.session.get(MaterialTemplate, tpl_id).preview_status == "ready"
    assert seen == []
    for rel in files:
        with open(f"{storage}/{rel}", "rb") as f:
            reader = pypdf.PdfReader(io.BytesIO(f.read()))
        assert not reader.attachments, rel
        text = "".join("".join(pg.extract_text().split()) for pg in reader.pages)
        assert "root:x" not in text
    statement_text = "".join("".join(pg.extract_text().split()) for pg in pypdf.PdfReader(
        f"{storage}/{files[0]}").pages)
    assert "".join(bad[1].split()) in statement_text  # a lead name, printed as text


def test_runaway_templates_fail_visibly_and_the_worker_carries_on(app, run_worker):
    """A template of 100,000 rows stops at the time limit; one with huge fonts and a
    25,000-row table stops at the memory limit. Each failure is stored on its row, shown in
    the back office and notified to the partner, and the same worker then renders a
    normal material (in a fresh child process, replaced after the limit)."""
    huge_rows = "{% for i in range(100000) %}<p>Row {{ i }} {{ partner.display_name }}</p>{% endfor %}"
    huge_font = ("<div class='big'>{% for i in range(20) %}{{ partner.display_name }} "
                 "{% endfor %}</div><table>{% for i in range(25000) %}<tr><td>{{ i }}</td>"
                 "<td>{{ partner.contact_line }}</td></tr>{% endfor %}</table>")
    old = app.config.get("PDF_JOB_TIMEOUT"), app.config.get("PDF_MEMORY_LIMIT_MB")
    rows = {}

    def ask(key, html="", css=""):
        with app.app_context():
            p = db.session.scalar(db.select(Partner))
            if html:  # inserted directly: a preview job would run away too (twice the time)
                t = MaterialTemplate(key=key, name=f"Runaway {key}", kind="other",
                                     min_tier_key="starter", html=html, css=css, version=1,
                                     published_at=now_utc())
                db.session.add(t)
                db.session.flush()
            else:
                t = db.session.scalar(db.select(MaterialTemplate).where(
                    MaterialTemplate.key == key))
            rows[key] = request_material(p, p.user_id, t.id,
                                         "https://x.example/r/RITA")[0].id
            db.session.commit()
            return p.user_id

    try:
        with app.app_context():
            make_staff("content@example.com", ("content",))
            make_partner("Rita Runaway", email="rita@example.com")
            install_builtin_templates()
            db.session.commit()
        # 1. Time limit (2 s; memory generous).
        app.config.update(PDF_JOB_TIMEOUT=2, PDF_MEMORY_LIMIT_MB=1024)
        uid = ask("rows", huge_rows)
        ask("faq-sheet")
        timed = run_worker()
        # 2. Memory limit (40 MB over the worker child's size at the render; time generous).
        app.config.update(PDF_JOB_TIMEOUT=60, PDF_MEMORY_LIMIT_MB=40)
        ask("font", huge_font, ".big { font-size: 400pt; line-height: 1 }")
        ask("case-study")
        capped = run_worker()
        # Each time the child whose render hit the limit stepped down after recording
        # it, and a fresh child (its renderer state untouched) rendered the next one.
        for report in (timed, capped):
            assert len(report.children) == 2 and report.lost_jobs == [], report

        with app.app_context():
            got = {k: db.session.get(MaterialRender, rid) for k, rid in rows.items()}
            for key in ("faq-sheet", "case-study"):
                assert got[key].status == "ready", (key, got[key].error)
            for key in ("rows", "font"):
                assert got[key].status == "failed", (key, got[key].status)
                assert got[key].file_path == ""
            errors = {k: got[k].error for k in ("rows", "font")}
            notes = [n.title for n in db.session.scalars(db.select(Notification).where(
                Notification.user_id == uid, Notification.kind == "material"))]
        assert errors["rows"].startswith("Stopped: rendering took longer than the 2 s time limit")
        assert errors["font"].startswith("Stopped: rendering needed more than the 40 MB memory "
                                         "limit"), errors["font"]
        assert sorted(notes) == ["Case study: TechCorp website (one page) is ready",
                                 "Client FAQ sheet is ready", "Runaway font could not be made",
                                 "Runaway rows could not be made"]
        staff_client = app.test_client()
        login(staff_client, "content@example.com")
        page = staff_client.get("/admin/material-renders/").get_data(as_text=True)
        assert "time limit" in page and "memory limit" in page
    finally:
        app.config.update(PDF_JOB_TIMEOUT=old[0] or 120, PDF_MEMORY_LIMIT_MB=old[1] or 1024)


def test_a_timeout_that_surfaces_as_another_error_still_counts_as_the_time_limit():
    """RQ's alarm can fire inside WeasyPrint's C calls, which then report a SystemError;
    a job that ran for its whole time limit is still told as "took longer than the time
    limit" (and not retried), while the same error early on is passed through."""
    from jobs.limits import friendly_error

    text = "Traceback (most recent call last):\n...\nSystemError: error return without exception set"
    assert friendly_error(text, 2, 40, ran_seconds=2.05) == (
        "Stopped: rendering took longer than the 2 s time limit. The template or its data "
        "is too large.", True)
    assert friendly_error(text, 2, 40, ran_seconds=0.3) == (
        "SystemError: error return without exception set", False)
    assert friendly_error("MemoryError", 2, 40, ran_seconds=2.5)[0].startswith(
        "Stopped: rendering needed more than the 40 MB memory limit")


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize("html, why", [
    ("{{ ('a'*100000)*100000 }}", "multiplication"),
    ("{{ 'a' * 2000000 }}", "multiplication"),
    ("{{ [1] * 10000000 }}", "multiplication"),
    ("{{ 10 ** 100000000 }}", "Exponents"),
    ("{{ '%0999999999d' % 1 }}", "String formatting"),
    ("{{ 'a'|center(1500000000) }}", "memory limit"),
    ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
     "longer than the 5 s limit"),
])
def test_template_bombs_are_refused_at_save_without_growing_the_web_process(ctx, html, why):
    """A content user's template that would build a huge value or loop for ever is
    refused with a sentence when saved; the trial render runs in a capped child process,
    so the web process neither grows nor stalls for more than the cap."""
    import time

    from core.content.materials import validate_template

    before = _peak_rss_mb()
    started = time.monotonic()
    with pytest.raises(ValidationError) as refused:
        validate_template(f"<p>{{{{ partner.display_name }}}}</p>{html}", "")
    assert why in refused.value.message, refused.value.message
    assert time.monotonic() - started < 8
    assert _peak_rss_mb() - before < 100


def test_the_issues_template_bomb_through_the_back_office_form(app):
    """The assessment's payload saved through Material templates → Create: the form
    shows why, nothing is stored, and the web process is the size it was."""
    from conftest import csrf_from

    with app.app_context():
        make_staff("content@example.com", ("content",))
    client = app.test_client()
    login(client, "content@example.com")
    before = _peak_rss_mb()
    page = client.get("/admin/materials/new/").get_data(as_text=True)
    resp = client.post("/admin/materials/new/", data={
        "csrf_token": csrf_from(page), "key": "bomb", "name": "Bomb", "kind": "other",
        "description": "", "min_tier_key": "starter",
        "draft_html": "{{ ('a'*100000)*100000 }}", "draft_css": ""})
    text = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "multiplication" in text
    assert _peak_rss_mb() - before < 100
    with app.app_context():
        assert db.session.scalar(db.select(MaterialTemplate).where(
            MaterialTemplate.key == "bomb")) is None


def test_a_bomb_that_reached_the_database_fails_visibly_in_the_worker(app, run_worker):
    """A template inserted around the save check still cannot take the worker down: the
    render fails with the sandbox's sentence and the worker renders the next material."""
    with app.app_context():
        p = make_partner("Bo Bomb", email="bo@example.com")
        install_builtin_templates()
        bomb = MaterialTemplate(key="bomb", name="Bomb", kind="other", min_tier_key="starter",
                                html="{{ ('a'*100000)*100000 }}", css="", version=1,
                                published_at=now_utc())
        db.session.add(bomb)
        db.session.flush()
        bad = request_material(p, p.user_id, bomb.id, "https://x.example/r/BO")[0].id
        faq = db.session.scalar(db.select(MaterialTemplate.id).where(
            MaterialTemplate.key == "faq-sheet"))
        good = request_material(p, p.user_id, faq, "https://x.example/r/BO")[0].id
        db.session.commit()
    run_worker()
    with app.app_context():
        failed, ready = db.session.get(MaterialRender, bad), db.session.get(MaterialRender, good)
        assert failed.status == "failed" and "multiplication" in failed.error, failed.error
        assert ready.status == "ready"
