"""`python -m services.codereview orchestrator | agents [NAME ...] | aggregator | publisher`: run one role."""

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
from services.common.http import serve, service_cli
from services.common.settings import get_settings

if __name__ == "__main__":
    args = service_cli(
        __doc__,
        {
            "orchestrator": "review.requested → PR files from GitHub, a plan → review.tasks",
            "agents": f"review.tasks → review.findings, for the named agents (default all: {' '.join(ALL_AGENTS)})",
            "aggregator": "review.findings → review.ready once every agent reported or the deadline passed",
            "publisher": "review.ready → one GitHub review per head SHA → review.posted",
        },
        takes_names=True,
    )
    if args.names and args.role != "agents":
        sys.exit(f"only `agents` takes names; {args.role} got {args.names}")
    settings = get_settings()
    if args.role == "orchestrator":
        serve(create_orchestrator_app(settings), settings.local.codereview_orchestrator_port)
    elif args.role == "agents":
        unknown = [n for n in args.names if n not in ALL_AGENTS]
        if unknown:
            sys.exit(f"unknown agent(s) {unknown}; choose from {list(ALL_AGENTS)}")
        agents = [cast(ReviewAgent, n) for n in args.names] or list(ALL_AGENTS)
        # Several agents in one process serve on the first one's port.
        serve(create_agents_app(agents, settings), settings.local.port_of(f"codereview-{agents[0]}"))
    elif args.role == "aggregator":
        serve(create_aggregator_app(settings), settings.local.codereview_aggregator_port)
    else:
        serve(create_publisher_app(settings), settings.local.codereview_publisher_port)
