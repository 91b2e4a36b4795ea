"""The public HTTP API: auth, jobs, live updates (SSE/WebSocket), API documents."""
