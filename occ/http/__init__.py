"""The one HTTP layer every network collector goes through: the client (deadlines,
retries, size cap, TLS, proxies), the retry policy and the response. Imports nothing, so that
passes over local sources never load ``requests``."""
