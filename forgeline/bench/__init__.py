"""`forgeline bench ...`: each bench writes JSON (docs/measurements/) from a stack of its own."""
