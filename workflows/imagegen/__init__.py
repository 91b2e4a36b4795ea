"""The image job saga: credits, generation on Ray Serve, S3 storage, billing, events."""
