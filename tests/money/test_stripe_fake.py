"""Tests for tests/stripe_fake.py, driven by the real ``stripe`` library (no mocks).

The fake runs as a separate process, exactly as payout tests will use it.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest
import stripe
from stripe_fake import start_fake_stripe, stop_fake_stripe  # noqa: E402

API_KEY = "sk_test_fake_platform_key"


def _control(base_url: str, path: str, payload: dict | None = None) -> dict:
    """Call a /_control endpoint (POST with JSON if payload is given, else GET)."""
    data = None if payload is None else json.dumps(payload).encode()
    req = urllib.request.Request(
        base_url + path,
        data=data,
        method="GET" if payload is None else "POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read())


@pytest.fixture(scope="module")
def fake_url():
    """Start one fake Stripe process for this module and kill it afterwards."""
    proc, base_url = start_fake_stripe()
    try:
        yield base_url
    finally:
        stop_fake_stripe(proc)
    assert proc.poll() is not None


@pytest.fixture(autouse=True)
def _reset(fake_url):
    """Give every test an empty fake."""
    _control(fake_url, "/_control/reset", {})


def _client(base_url: str, api_key: str = API_KEY, timeout: float = 5) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": base_url},
        max_network_retries=0,
        http_client=stripe.RequestsClient(timeout=timeout),
    )


@pytest.fixture
def client(fake_url):
    """A StripeClient pointed at the fake, with retries disabled."""
    return _client(fake_url)


def _onboarded_account(client: stripe.StripeClient) -> str:
    acct = client.v1.accounts.create(params={"type": "express", "email": "seller@example.com"})
    link = client.v1.account_links.create(
        params={
            "account": acct.id,
            "type": "account_onboarding",
            "refresh_url": "http://localhost/refresh",
            "return_url": "http://localhost/return",
        }
    )
    with urllib.request.urlopen(link.url, timeout=5) as resp:
        assert resp.status == 200
        assert b"http://localhost/return" in resp.read()
    return acct.id


def _transfer(client, destination, amount=1500, key="payout-1", **extra):
    return client.v1.transfers.create(
        params={"amount": amount, "currency": "usd", "destination": destination, **extra},
        options={"idempotency_key": key},
    )


def test_account_create_and_onboarding(fake_url, client):
    acct = client.v1.accounts.create(
        params={"type": "express", "email": "seller@example.com", "metadata": {"user_id": "42"}}
    )
    assert acct.id.startswith("acct_")
    assert acct.object == "account"
    assert (acct.type, acct.email) == ("express", "seller@example.com")
    assert acct.metadata["user_id"] == "42"
    assert not (acct.charges_enabled or acct.payouts_enabled or acct.details_submitted)

    link = client.v1.account_links.create(
        params={
            "account": acct.id,
            "type": "account_onboarding",
            "refresh_url": "http://localhost/refresh",
            "return_url": "http://localhost/return",
        }
    )
    assert link.object == "account_link"
    assert link.url == f"{fake_url}/fake-onboarding/{acct.id}"
    assert link.expires_at > link.created

    with urllib.request.urlopen(link.url, timeout=5) as resp:
        assert resp.status == 200

    again = client.v1.accounts.retrieve(acct.id)
    assert again.details_submitted and again.payouts_enabled and again.charges_enabled
    assert again.requirements.currently_due == []

    state = _control(fake_url, "/_control/state")
    assert state["accounts_count"] == 1


def test_retrieve_unknown_account_is_404(client):
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.accounts.retrieve("acct_doesnotexist")
    assert exc.value.http_status == 404
    assert exc.value.code == "resource_missing"


def test_idempotent_transfer_is_created_once(fake_url, client):
    acct = _onboarded_account(client)
    first = _transfer(client, acct, metadata={"payout_id": "1"})
    second = _transfer(client, acct, metadata={"payout_id": "1"})

    assert first.id.startswith("tr_") and first.object == "transfer"
    assert second.id == first.id
    assert (first.amount, first.currency, first.destination) == (1500, "usd", acct)
    assert second.last_response.headers.get("Idempotent-Replayed") == "true"
    assert first.last_response.headers.get("Idempotent-Replayed") is None

    state = _control(fake_url, "/_control/state")
    assert state["transfers_count"] == 1
    [tr] = state["transfers"]
    assert tr == {**tr, "id": first.id, "amount": 1500, "destination": acct, "idempotency_key": "payout-1"}

    assert client.v1.transfers.retrieve(first.id).amount == 1500
    listed = client.v1.transfers.list(params={"destination": acct})
    assert [t.id for t in listed.data] == [first.id]


def test_replay_returns_identical_status_and_body(fake_url, client):
    acct = _onboarded_account(client)
    body = f"amount=700&currency=usd&destination={acct}".encode()

    def post():
        req = urllib.request.Request(
            f"{fake_url}/v1/transfers",
            data=body,
            headers={"Authorization": f"Bearer {API_KEY}", "Idempotency-Key": "raw-1"},
        )
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.read(), resp.headers.get("Idempotent-Replayed")

    first, second = post(), post()
    assert first[0] == second[0] == 200
    assert json.loads(first[1]) == json.loads(second[1])
    assert (first[2], second[2]) == (None, "true")


def test_idempotency_keys_are_per_api_key(fake_url, client):
    acct = _onboarded_account(client)
    a = _transfer(client, acct)
    b = _transfer(_client(fake_url, "sk_test_other_platform"), acct)
    assert a.id != b.id
    assert _control(fake_url, "/_control/state")["transfers_count"] == 2


def test_same_key_different_params_is_idempotency_error(fake_url, client):
    acct = _onboarded_account(client)
    _transfer(client, acct, amount=1500)
    with pytest.raises(stripe.IdempotencyError):
        _transfer(client, acct, amount=1600)
    assert _control(fake_url, "/_control/state")["transfers_count"] == 1


def test_injected_500_then_retry_with_same_key_creates_one(fake_url, client):
    acct = _onboarded_account(client)
    _control(fake_url, "/_control/fail", {"mode": "500", "count": 1, "path_prefix": "/v1/transfers"})

    with pytest.raises(stripe.APIError) as exc:
        _transfer(client, acct)
    assert exc.value.http_status == 500
    assert _control(fake_url, "/_control/state")["transfers_count"] == 0

    retried = _transfer(client, acct)
    replayed = _transfer(client, acct)
    assert replayed.id == retried.id
    state = _control(fake_url, "/_control/state")
    assert state["transfers_count"] == 1
    assert state["failures_injected"] == 1
    assert state["pending_failures"] == []


def test_library_retries_recover_from_500(fake_url):
    """With the library's own retries on, one injected 500 is invisible and nothing is duplicated."""
    client = stripe.StripeClient(
        API_KEY,
        base_addresses={"api": fake_url},
        max_network_retries=2,
        http_client=stripe.RequestsClient(timeout=5),
    )
    acct = _onboarded_account(client)
    _control(fake_url, "/_control/fail", {"mode": "500", "count": 1, "path_prefix": "/v1/transfers"})
    tr = _transfer(client, acct)
    assert tr.id.startswith("tr_")
    assert _control(fake_url, "/_control/state")["transfers_count"] == 1


def test_injected_429_is_rate_limit_error(fake_url, client):
    acct = _onboarded_account(client)
    _control(fake_url, "/_control/fail", {"mode": "429", "count": 1, "path_prefix": "/v1/transfers"})
    with pytest.raises(stripe.RateLimitError):
        _transfer(client, acct)
    assert _control(fake_url, "/_control/state")["transfers_count"] == 0
    assert _transfer(client, acct).id.startswith("tr_")


def test_failure_rule_only_matches_its_prefix(fake_url, client):
    _control(fake_url, "/_control/fail", {"mode": "500", "count": 1, "path_prefix": "/v1/transfers"})
    acct = client.v1.accounts.create(params={"type": "express"})  # not affected
    assert acct.id.startswith("acct_")
    assert len(_control(fake_url, "/_control/state")["pending_failures"]) == 1


def test_injected_timeout_creates_nothing(fake_url):
    client = _client(fake_url, timeout=0.3)
    acct = _onboarded_account(client)
    _control(
        fake_url, "/_control/fail",
        {"mode": "timeout", "count": 1, "path_prefix": "/v1/transfers", "delay": 0.8},
    )
    with pytest.raises(stripe.APIConnectionError):
        _transfer(client, acct)
    assert _control(fake_url, "/_control/state")["transfers_count"] == 0
    assert _transfer(client, acct).id.startswith("tr_")
    assert _control(fake_url, "/_control/state")["transfers_count"] == 1


def test_timeout_after_commit_is_replayed_on_retry(fake_url):
    client = _client(fake_url, timeout=0.3)
    acct = _onboarded_account(client)
    _control(
        fake_url, "/_control/fail",
        {"mode": "timeout", "count": 1, "path_prefix": "/v1/transfers", "delay": 0.8, "after_commit": True},
    )
    with pytest.raises(stripe.APIConnectionError):
        _transfer(client, acct)
    state = _control(fake_url, "/_control/state")
    assert state["transfers_count"] == 1
    retried = _transfer(client, acct)
    assert retried.id == state["transfers"][0]["id"]
    assert retried.last_response.headers.get("Idempotent-Replayed") == "true"
    assert _control(fake_url, "/_control/state")["transfers_count"] == 1


def _wait_state(fake_url, predicate, timeout=5.0):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = _control(fake_url, "/_control/state")
        if predicate(state):
            return state
        time.sleep(0.05)
    raise AssertionError(f"fake state never matched: {state}")


@pytest.mark.parametrize("execute", ["before", "after"])
def test_delay_answers_late_when_the_client_waits(fake_url, client, execute):
    import time

    acct = _onboarded_account(client)
    _control(fake_url, "/_control/fail", {"mode": "delay", "count": 1, "delay": 0.6,
                                          "path_prefix": "/v1/transfers", "execute": execute})
    began = time.monotonic()
    tr = _transfer(client, acct)
    assert time.monotonic() - began >= 0.6
    state = _control(fake_url, "/_control/state")
    assert state["transfers_count"] == 1 and state["transfers"][0]["id"] == tr.id
    assert state["delayed_waiting"] == 0 and state["dropped_count"] == 0


def test_delay_then_hang_up_executes_nothing(fake_url):
    """``execute: after``: the client gives up during the wait, Stripe never got it."""
    client = _client(fake_url, timeout=0.3)
    acct = _onboarded_account(client)
    _control(fake_url, "/_control/fail", {"mode": "delay", "count": 1, "delay": 3,
                                          "path_prefix": "/v1/transfers", "execute": "after"})
    with pytest.raises(stripe.APIConnectionError):
        _transfer(client, acct)
    state = _wait_state(fake_url, lambda s: s["dropped_count"] == 1)
    assert state["transfers_count"] == 0 and state["delayed_waiting"] == 0
    assert _transfer(client, acct).last_response.headers.get("Idempotent-Replayed") is None
    assert _control(fake_url, "/_control/state")["transfers_count"] == 1


def test_executed_then_hang_up_is_replayed(fake_url):
    """``execute: before``: Stripe made the transfer, the client left before the answer;
    a retry with the same key gets the same transfer back."""
    client = _client(fake_url, timeout=0.3)
    acct = _onboarded_account(client)
    _control(fake_url, "/_control/fail", {"mode": "delay", "count": 1, "delay": 3,
                                          "path_prefix": "/v1/transfers", "execute": "before"})
    with pytest.raises(stripe.APIConnectionError):
        _transfer(client, acct)
    state = _wait_state(fake_url, lambda s: s["abandoned_count"] == 1)
    assert state["transfers_count"] == 1
    retried = _transfer(client, acct)
    assert retried.id == state["transfers"][0]["id"]
    assert retried.last_response.headers.get("Idempotent-Replayed") == "true"


def test_delay_rule_is_validated(fake_url):
    req = urllib.request.Request(
        fake_url + "/_control/fail", method="POST",
        data=json.dumps({"mode": "delay", "execute": "sometime"}).encode(),
        headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=5)
    assert err.value.code == 400


def test_concurrent_requests_with_same_key_create_one_transfer(fake_url, client):
    acct = _onboarded_account(client)
    ids, errors = [], []

    def worker():
        try:
            ids.append(_transfer(_client(fake_url), acct, key="race-1").id)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert errors == []
    assert len(set(ids)) == 1 and len(ids) == 8
    assert _control(fake_url, "/_control/state")["transfers_count"] == 1


def test_transfer_to_account_without_payouts_is_rejected(fake_url, client):
    acct = client.v1.accounts.create(params={"type": "express"})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        _transfer(client, acct.id)
    assert exc.value.http_status == 400
    assert exc.value.param == "destination"

    with pytest.raises(stripe.InvalidRequestError):
        _transfer(client, "acct_missing", key="payout-2")
    # Validation failures store nothing: once onboarded, the same key works.
    urllib.request.urlopen(f"{fake_url}/fake-onboarding/{acct.id}", timeout=5).close()
    assert _transfer(client, acct.id).destination == acct.id
    assert _control(fake_url, "/_control/state")["transfers_count"] == 1


@pytest.mark.parametrize("amount", [0, -5, "abc"])
def test_transfer_amount_must_be_positive_int(client, amount):
    acct = _onboarded_account(client)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        _transfer(client, acct, amount=amount)
    assert exc.value.param == "amount"


def test_transfer_reversal(fake_url, client):
    acct = _onboarded_account(client)
    tr = _transfer(client, acct, amount=1000)
    rev = client.v1.transfers.reversals.create(tr.id, params={"amount": 400})
    assert rev.object == "transfer_reversal" and rev.amount == 400 and rev.transfer == tr.id
    client.v1.transfers.reversals.create(tr.id)  # the rest
    again = client.v1.transfers.retrieve(tr.id)
    assert again.amount_reversed == 1000 and again.reversed
    assert again.reversals.total_count == 2
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.transfers.reversals.create(tr.id, params={"amount": 1})


def test_bad_api_key_is_authentication_error(fake_url):
    with pytest.raises(stripe.AuthenticationError):
        _client(fake_url, "sk_live_nope").v1.accounts.create(params={"type": "express"})
    req = urllib.request.Request(f"{fake_url}/v1/transfers")
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(req, timeout=5)
    assert exc.value.code == 401
    assert json.loads(exc.value.read())["error"]["type"] == "authentication_error"
    assert _control(fake_url, "/_control/state")["accounts_count"] == 0
