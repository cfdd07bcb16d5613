"""The HTTP API under /api/v1: bearer tokens, JSON bodies, errors as {"error": {"code", "message"}}."""
