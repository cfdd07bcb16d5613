"""Fast tests of the pure rules: domain and file adapters, no database."""
