"""DUIS XML messages of a firmware distribution: hardened parsing, a typed model, GBCS decoding, the mapping."""
