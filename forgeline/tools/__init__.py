"""Operator tools: seed data, render a trace, follow a topic."""
