"""`python -m services.moderation rules|classifier|judge`: run one moderation tier."""

import sys

from services.common.http import serve
from services.common.settings import get_settings
from services.moderation.app import create_classifier_app, create_judge_app, create_rules_app

if __name__ == "__main__":
    role = sys.argv[1] if len(sys.argv) > 1 else ""
    settings = get_settings()
    if role == "rules":
        serve(create_rules_app(settings), settings.forgeline_moderation_rules_port)
    elif role == "classifier":
        serve(create_classifier_app(settings), settings.forgeline_moderation_classifier_port)
    elif role == "judge":
        serve(create_judge_app(settings), settings.forgeline_moderation_judge_port)
    else:
        sys.exit("usage: python -m services.moderation rules|classifier|judge  (tier 1, tier 2, tier 3)")
