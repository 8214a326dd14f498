"""The zaqar collector: the HTTP transport, the websocket transport, and the protocol they
share. Imports nothing."""
