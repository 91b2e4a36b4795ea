"""Image jobs: the `image.requested` consumer (starts sagas), the prompt cache, the Ray Serve app."""
