"""The configuration layer: the option table, the oslo-dialect INI reader, value
conversion, the frozen ``Config`` model, and loading with validation. Imports nothing."""
