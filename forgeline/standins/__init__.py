"""The local stand-ins of outside services: S3, SMTP and GitHub."""
