"""`python -m services.codereview orchestrator|agents [NAME ...]|aggregator|publisher`: run one role."""

import sys
from typing import cast

from services.codereview.app import (
    create_agents_app,
    create_aggregator_app,
    create_orchestrator_app,
    create_publisher_app,
)
from services.codereview.plan import ALL_AGENTS
from services.common.events import ReviewAgent
from services.common.http import serve
from services.common.settings import get_settings

USAGE = (
    "usage: python -m services.codereview orchestrator | agents [quality security performance tests docs] "
    "| aggregator | publisher"
)

if __name__ == "__main__":
    role, names = (sys.argv[1] if len(sys.argv) > 1 else ""), sys.argv[2:]
    settings = get_settings()
    if role == "orchestrator":
        serve(create_orchestrator_app(settings), settings.forgeline_codereview_orchestrator_port)
    elif role == "agents":
        unknown = [n for n in names if n not in ALL_AGENTS]
        if unknown:
            sys.exit(f"unknown agent(s) {unknown}; choose from {list(ALL_AGENTS)}\n{USAGE}")
        agents = [cast(ReviewAgent, n) for n in names] or list(ALL_AGENTS)
        # Several agents in one process serve on the first one's port.
        serve(create_agents_app(agents, settings), getattr(settings, f"forgeline_codereview_{agents[0]}_port"))
    elif role == "aggregator":
        serve(create_aggregator_app(settings), settings.forgeline_codereview_aggregator_port)
    elif role == "publisher":
        serve(create_publisher_app(settings), settings.forgeline_codereview_publisher_port)
    else:
        sys.exit(USAGE)
