"""Reference data and demo data (``flask seed-reference``, ``flask seed-demo``)."""
