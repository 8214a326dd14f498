"""What the runner and the collectors share: the cache, persisted state, the hook and its
retry policy, atomic file writes and the lock, the hook env file. Imports nothing."""
