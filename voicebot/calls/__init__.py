"""Calls: the per-call pipeline (CallSession), its record, and the registry of live calls."""
