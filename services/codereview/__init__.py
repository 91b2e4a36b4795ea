"""Multi-agent code review: webhook intake, diff mapping (orchestrator, agents and aggregator to come)."""
