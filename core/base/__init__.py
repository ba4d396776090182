"""What every feature stands on: extensions, configuration, errors, time, e-mail,
PDF rendering, the audit log, the outbox (unit of work) and the shared tables."""
