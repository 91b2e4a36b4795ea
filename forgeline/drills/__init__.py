"""Drills as code: drill files, their schema, the runner and the auditor (docs/drills.md)."""
