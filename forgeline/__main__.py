"""`python -m forgeline`: the operator CLI."""

from forgeline.cli import app

if __name__ == "__main__":
    app()
