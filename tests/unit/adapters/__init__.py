"""Tests of the event file readers and the CSV and JSON exports."""
