"""Accessibility of the partner portal (labels on every
input, contrast AA in both themes, usable by keyboard), checked in headless Chromium on
the pages as a partner sees them."""

import pytest
from conftest import make_partner
from test_browser import log_in, phone

from core.base.extensions import db

PAGES = ["/partner/dashboard", "/partner/leads", "/partner/earnings", "/partner/team",
         "/partner/leaderboard", "/partner/tier-progression", "/partner/training",
         "/partner/resources", "/partner/playbooks", "/partner/playbooks/new",
         "/partner/materials", "/partner/notifications", "/partner/profile/notifications",
         "/partner/profile", "/partner/support", "/partner/chat/general",
         "/partner/agreement", "/partner/chat/elite-council", "/partner/no-such-page"]

#: In-page check: every visible text node's colour against the first opaque background
#: behind it (WCAG 2.1 relative luminance); AA needs 4.5:1, or 3:1 for large text
#: (24 px, or 18.66 px bold). Returns the failures.
CONTRAST_JS = """() => {
  const parse = (c) => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const p = m[1].split(',').map(Number); return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; };
  const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const bgOf = (el) => { for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor); if (c && c.a >= 0.99) return c; }
    return parse(getComputedStyle(document.documentElement).backgroundColor) || {r: 255, g: 255, b: 255, a: 1}; };
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  while (walker.nextNode()) {
    const node = walker.currentNode; const el = node.parentElement;
    if (!el || seen.has(el) || !node.textContent.trim()) continue;
    seen.add(el);
    const st = getComputedStyle(el);
    const rect = el.getBoundingClientRect();
    if (st.visibility === 'hidden' || st.display === 'none' || rect.width === 0 || rect.height === 0) continue;
    if (el.closest('[hidden], [aria-hidden="true"], option, script, style')) continue;
    const fg = parse(st.color); const bg = bgOf(el);
    if (!fg) continue;
    const mixed = {r: fg.r * fg.a + bg.r * (1 - fg.a), g: fg.g * fg.a + bg.g * (1 - fg.a), b: fg.b * fg.a + bg.b * (1 - fg.a)};
    const l1 = lum(mixed), l2 = lum(bg);
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const size = parseFloat(st.fontSize); const bold = parseInt(st.fontWeight, 10) >= 700;
    const need = (size >= 24 || (bold && size >= 18.66)) ? 3 : 4.5;
    if (ratio < need) out.push(`${el.tagName.toLowerCase()}.${el.className} "${node.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)} < ${need}`);
  }
  return out;
}"""

#: In-page check: every form control a person can use has an accessible name.
LABELS_JS = """() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter((e) => e.type !== 'hidden' && !e.closest('[hidden]'))
  .filter((e) => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                 && !e.getAttribute('aria-labelledby') && !e.title)
  .map((e) => `${e.tagName.toLowerCase()}[name=${e.name}]`)"""


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["dark", "light"])
def test_every_portal_page_has_aa_contrast_and_labelled_inputs(app, live_server, browser,
                                                                 scheme):
    """Every page a partner opens, in the dark and in the light theme: all visible text
    reaches WCAG AA contrast against its background, and every input has a label."""
    with app.app_context():
        make_partner("Sarah Thompson", email="sarah@example.com", deals=3)
        db.session.remove()
    page = phone(browser, live_server, scheme=scheme)
    log_in(page, "sarah@example.com")
    failures = {}
    for url in PAGES:
        page.goto(url)
        for d in page.locator("details").all():  # folded forms count too
            d.evaluate("(e) => { e.open = true; }")
        low = page.evaluate(CONTRAST_JS)
        unlabelled = page.evaluate(LABELS_JS)
        if low or unlabelled:
            failures[url] = {"contrast": low[:8], "unlabelled": unlabelled}
    assert failures == {}, "\n".join(f"{u}: {f}" for u, f in failures.items())


@pytest.mark.browser
def test_keyboard_alone_adds_a_lead(app, live_server, browser):
    """Tab from the top of the leads page reaches "+ Add a lead"; Enter opens it; the
    fields and the button are reached in order by Tab and the lead is added with Enter.
    Focus is always visible (an outline)."""
    from core.program.models import Lead

    with app.app_context():
        make_partner("Sarah Thompson", email="sarah@example.com")
        db.session.remove()
    page = phone(browser, live_server)
    log_in(page, "sarah@example.com")
    page.goto("/partner/leads")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "+ Add a lead":
            break
    else:
        raise AssertionError("Tab never reached + Add a lead")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", ""), outline
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "company_name"
    page.keyboard.type("Keyboard Co")
    for _ in range(6):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "Add lead":
            break
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.locator(".lead-card", has_text="Keyboard Co").wait_for()
    with app.app_context():
        assert db.session.scalar(db.select(Lead.company_name)) == "Keyboard Co"


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["dark", "light"])
def test_new_parts_have_aa_contrast_and_labels(app, live_server, browser, scheme):
    """The parts added for phones and desktops, in both themes: an applicant's status card
    and locked sections, the message actions ("⋯" opened), the earnings payout reason and
    the desktop side navigation reach AA contrast, and every input has a label."""
    from test_browser_chat_touch import seed_message, wait_joined

    with app.app_context():
        make_partner("Nina Novak", email="nina@example.com", status="applied", verified=False)
        make_partner("Sarah Thompson", email="sarah@example.com")
        seed_message("sarah@example.com", "Contrast check", replies=1)
        db.session.remove()
    failures = {}

    def check(page, label):
        low, unlabelled = page.evaluate(CONTRAST_JS), page.evaluate(LABELS_JS)
        if low or unlabelled:
            failures[label] = {"contrast": low[:8], "unlabelled": unlabelled}

    nina = phone(browser, live_server, scheme=scheme)
    log_in(nina, "nina@example.com")
    check(nina, "applicant dashboard")
    nina.goto("/partner/leads")
    check(nina, "locked leads")
    sarah = phone(browser, live_server, scheme=scheme)
    log_in(sarah, "sarah@example.com")
    sarah.goto("/partner/earnings")
    check(sarah, "earnings (payout reason)")
    sarah.goto("/partner/chat/general")
    wait_joined(sarah)
    sarah.get_by_role("button", name="Actions for Sarah Thompson's message").first.click()
    check(sarah, "chat actions open")
    sarah.get_by_role("button", name="1 reply").click()
    check(sarah, "chat thread panel")
    sarah.set_viewport_size({"width": 1440, "height": 900})
    sarah.goto("/partner/leaderboard")
    check(sarah, "desktop side navigation")
    assert failures == {}, "\n".join(f"{u}: {f}" for u, f in failures.items())
