"""XP ledger: an action earns its points once per source, whatever retries."""

import pytest

from core.base.errors import ValidationError
from core.base.extensions import db
from core.engagement.models import XpEntry
from core.engagement.xp import XP_ACTIONS, record_action, total_xp
from tests.conftest import make_partner


def test_an_action_earns_its_points_once_per_source(ctx):
    partner = make_partner(email="xp@example.com")
    first = record_action(partner.id, "event_attended", "event:7")
    again = record_action(partner.id, "event_attended", "event:7")
    record_action(partner.id, "lead_logged", "lead:1")
    db.session.commit()
    assert first == XP_ACTIONS["event_attended"]
    assert again is None
    assert total_xp(partner.id) == XP_ACTIONS["event_attended"] + XP_ACTIONS["lead_logged"]
    assert db.session.query(XpEntry).count() == 2


def test_an_unknown_action_is_refused_and_nothing_is_stored(ctx):
    partner = make_partner(email="xp2@example.com")
    with pytest.raises(ValidationError):
        record_action(partner.id, "bought_coffee", "x:1")
    assert total_xp(partner.id) == 0
