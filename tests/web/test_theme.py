"""The light/dark theme: the server renders the choice kept in a cookie, the device's
prefers-color-scheme decides when there is none."""

from conftest import csrf_from, login, make_partner


def html_tag(client, url="/login") -> str:
    page = client.get(url).get_data(as_text=True)
    return page[page.index("<html"):page.index(">", page.index("<html")) + 1]


def choose(client, theme, next_url="/login"):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/theme", data={"csrf_token": token, "theme": theme, "next": next_url})


def test_no_choice_follows_the_device(client):
    page = client.get("/login").get_data(as_text=True)
    assert html_tag(client) == '<html lang="en">'
    assert '<meta name="theme-color" content="#e3e5e8" media="(prefers-color-scheme: light)">' in page
    assert 'id="theme-toggle"' in page


def test_choice_persists_in_a_cookie_and_system_forgets_it(client):
    resp = choose(client, "light", "/login?next=/partner/earnings")
    assert resp.status_code == 303 and resp.headers["Location"] == "/login?next=/partner/earnings"
    cookie = resp.headers["Set-Cookie"]
    assert cookie.startswith("theme=light;") and "SameSite=Lax" in cookie and "Max-Age=31536000" in cookie
    assert html_tag(client) == '<html lang="en" data-theme="light">'
    assert 'value="dark" aria-label="Switch to dark theme"' in client.get("/login").get_data(as_text=True)
    choose(client, "dark")
    assert html_tag(client) == '<html lang="en" data-theme="dark">'
    choose(client, "system")
    assert html_tag(client) == '<html lang="en">'


def test_bad_theme_bad_next_and_forged_cookie_are_refused(client):
    assert choose(client, "purple").status_code == 400
    assert client.post("/theme", data={"theme": "light"}).status_code == 400  # no CSRF token
    resp = choose(client, "light", "//evil.example/")
    assert resp.headers["Location"] == "/partner/dashboard"
    client.set_cookie("theme", '"><script>alert(1)</script>')
    assert html_tag(client) == '<html lang="en">'


def test_profile_page_offers_the_three_choices(app, client):
    with app.app_context():
        make_partner("Sarah Thompson", email="sarah@example.com")
    login(client, "sarah@example.com")
    choose(client, "light")
    page = client.get("/partner/profile").get_data(as_text=True)
    assert '<input type="radio" name="theme" value="light" checked>' in page
    assert '<input type="radio" name="theme" value="system" >' in page
