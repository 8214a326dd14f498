"""Logging: set-up from the logging options, the journald handler, structured fields.
Imports nothing."""
