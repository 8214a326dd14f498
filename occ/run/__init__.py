"""Running passes: ``runner.run_pass`` (lock -> collectors -> cache -> hand-over) and the
modes that call it: ``legacy`` (the original's one-shot modes), ``systemd`` (collect, run-hook,
commit) and ``continuous`` (the original's loop). Imports nothing."""
