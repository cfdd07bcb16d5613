"""The tracking domain: identifiers, statuses, events and the derivation rule (standard library only)."""
