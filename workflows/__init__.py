"""Temporal workflows (sagas), their activities and worker entry points, one folder per capability."""
