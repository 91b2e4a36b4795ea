"""The LLM as a Ray Serve application: SmolLM2 behind an OpenAI-compatible API.

Any service whose `LLM_BACKEND=openai` can point `LLM_BASE_URL` at it (`<serve>/llm/v1`);
requests from many callers are batched into one generate call per step on the replica's device.
"""
