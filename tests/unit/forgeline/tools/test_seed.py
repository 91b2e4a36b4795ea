import pytest

from forgeline.tools.seed import build_shop, seeded_drafts

pytestmark = pytest.mark.unit


def test_seeded_drafts_fill_every_template_for_users_of_its_cohort() -> None:
    shop = build_shop()
    drafts = seeded_drafts(per_template=3)
    assert len(drafts) == 3 * len(shop["templates"])
    assert not any("{" in d or "}" in d for d in drafts)  # every placeholder filled
    first_names = {u["first_name"] for u in shop["users"]}
    assert all(any(name in d for name in first_names) for d in drafts)
    # The cohorts' promotions reach the copy, as the template backend writes them.
    assert any("Use code WELCOME10 for 10% off." in d for d in drafts)
    assert any("SUMMER50" in d for d in drafts)  # the stale template is the shop's copy too
