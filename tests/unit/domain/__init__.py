"""Tests of the domain rules of SPEC §2 to §6."""
