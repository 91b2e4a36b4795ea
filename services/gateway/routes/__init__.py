"""The gateway's routes, one module per group; app.py includes them."""
