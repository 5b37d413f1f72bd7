"""Voicebot: a French phone assistant for public administrations."""

__version__ = "0.1.0"
