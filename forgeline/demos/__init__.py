"""End-to-end demos through the running stack, narrated in plain words; each returns True when it saw what it expected."""
