"""The command line: the console-script entry point (the exit-status boundary), the
argument parser, and the one dispatch to a mode. Imports nothing, to keep start-up lazy."""
