"""Hangar: a self-hosted AI compute platform."""

__version__ = "0.1.0"
