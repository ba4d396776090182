"""Running the app on many machines: readiness checks, file storage, logs, metrics and
error reporting (docs/deploy.md)."""
