"""Where stages compute: one base, a local process pool, a Ray cluster."""
