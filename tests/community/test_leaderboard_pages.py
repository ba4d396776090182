"""Leaderboard and tier progression as a partner sees them."""

from conftest import api_token, login, make_partner


def test_leaderboard_ranks_and_hides_others_revenue(app, client):
    """Partners are ranked by this month's confirmed deals; each sees their own revenue but
    not anyone else's; filters by tier work; a bad option is refused by the API."""
    with app.app_context():
        make_partner("Top Seller", deals=4)
        me = make_partner("Me Myself", email="me@example.com", deals=2)
        make_partner("New Comer", deals=0)
        my_id = me.id
    h = api_token(client, "me@example.com")
    board = client.get("/api/leaderboard", headers=h).get_json()
    assert [(r["rank"], r["name"], r["deals"]) for r in board["items"]] == [
        (1, "Top Seller", 4), (2, "Me Myself", 2)]
    assert board["items"][0]["revenue_cents"] is None
    assert board["me"]["partner_id"] == my_id and board["me"]["revenue_cents"] == 200000
    active_only = client.get("/api/leaderboard?tier=active", headers=h).get_json()
    assert [r["name"] for r in active_only["items"]] == ["Top Seller"]
    assert client.get("/api/leaderboard?period=year", headers=h).status_code == 422
    login(client, "me@example.com")
    page = client.get("/partner/leaderboard?period=all&metric=revenue").get_data(as_text=True)
    assert "You: <strong>#2</strong>" in page and "$2,000.00" in page
    assert "$4,000.00" not in page


def test_tier_progression_page(app, client):
    """The tier page shows deals to the next tier, the checklist, the next tier's
    benefits and the promotion in the history."""
    with app.app_context():
        make_partner("Pro Moted", email="pro@example.com", deals=3)
    login(client, "pro@example.com")
    page = client.get("/partner/tier-progression").get_data(as_text=True)
    assert "Active partner" in page and "7 more deals to Performer" in page
    assert "Confirmed won deals: 3/10" in page and "10% team override" in page
    assert "Promoted" in page
