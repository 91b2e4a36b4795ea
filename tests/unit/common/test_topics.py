import pytest

from services.common.topics import CONSUMER_GROUPS, ECHO_COMPLETED, ECHO_REQUESTED, consumer_group

pytestmark = pytest.mark.unit


def test_a_service_may_consume_only_a_registered_group_and_topic() -> None:
    assert consumer_group("echo", ECHO_REQUESTED).service == "echo"
    with pytest.raises(KeyError, match="CONSUMER_GROUPS"):
        consumer_group("echo", ECHO_COMPLETED)
    with pytest.raises(KeyError, match="'echo-2'"):
        consumer_group("echo-2", ECHO_REQUESTED)


def test_every_registered_topic_is_consumed_through_the_retry_policy() -> None:
    # Lag is shown for the topic and its retry topic, which exist only for consumed topics.
    assert all(spec.consumed for group in CONSUMER_GROUPS for spec in group.topics)
    assert len({group.name for group in CONSUMER_GROUPS}) == len(CONSUMER_GROUPS)
