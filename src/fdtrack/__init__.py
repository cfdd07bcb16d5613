"""fdtrack: Firmware Distribution Tracking for GB smart metering."""

__version__ = "0.1.0"
