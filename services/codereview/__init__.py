"""Multi-agent code review: webhook intake, orchestrator, specialist agents, aggregator and publisher."""
