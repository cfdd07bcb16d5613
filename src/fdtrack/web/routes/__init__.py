"""The web service's routes, one module per screen or concern."""
