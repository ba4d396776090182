"""The web layer: the app factory, error pages, security headers, sessions, log-in
throttling and the request glue that every face shares."""
