"""Marketing email: cart.abandoned -> context, retrieval, generation, guardrails -> email.outbound -> SMTP."""
