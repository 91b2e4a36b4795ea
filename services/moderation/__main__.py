"""`python -m services.moderation rules|classifier|judge`: run one moderation tier."""

from services.common.http import serve, service_cli
from services.common.settings import get_settings
from services.moderation.app import create_classifier_app, create_judge_app, create_rules_app

if __name__ == "__main__":
    args = service_cli(
        __doc__,
        {
            "rules": "tier 1: content.submitted → decided, or moderation.tier2 (FORGELINE_MODERATION_RULES_PORT)",
            "classifier": "tier 2: the Serve classifier → decided, or moderation.tier3 (FORGELINE_MODERATION_CLASSIFIER_PORT)",
            "judge": "tier 3: the LLM judge → decided, or a human review (FORGELINE_MODERATION_JUDGE_PORT)",
        },
    )
    settings = get_settings()
    if args.role == "rules":
        serve(create_rules_app(settings), settings.local.moderation_rules_port)
    elif args.role == "classifier":
        serve(create_classifier_app(settings), settings.local.moderation_classifier_port)
    else:
        serve(create_judge_app(settings), settings.local.moderation_judge_port)
