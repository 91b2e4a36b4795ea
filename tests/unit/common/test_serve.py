import pytest

from services.common.serve import model_options
from services.common.settings import Settings

pytestmark = pytest.mark.unit


def test_every_model_deployment_is_sized_from_its_own_group() -> None:
    s = Settings().replace(
        imagegen={"num_gpus": 1.0, "max_replicas": 4}, moderation={"num_gpus": 0.25, "min_replicas": 4, "max_replicas": 4}
    )
    image, moderation, llm = model_options(s.imagegen), model_options(s.moderation), model_options(s.llm)
    assert image["ray_actor_options"]["num_gpus"] == 1.0 and image["autoscaling_config"]["max_replicas"] == 4
    assert moderation["ray_actor_options"]["num_gpus"] == 0.25
    assert moderation["autoscaling_config"]["initial_replicas"] == moderation["autoscaling_config"]["min_replicas"] == 4
    assert llm["ray_actor_options"]["num_gpus"] == 0.0


def test_defaults_follow_the_batch_size_unless_a_domain_sets_its_own() -> None:
    s = Settings()
    moderation = model_options(s.moderation)
    assert moderation["autoscaling_config"]["target_ongoing_requests"] == s.moderation.max_batch_size == 64
    assert moderation["max_ongoing_requests"] == 4 * 64
    image = model_options(s.imagegen)  # a generation is long: scale on a short queue
    assert (image["autoscaling_config"]["target_ongoing_requests"], image["max_ongoing_requests"]) == (2.0, 16)
