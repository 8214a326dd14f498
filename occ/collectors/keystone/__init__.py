"""The Keystone v3 client shared by the heat and zaqar collectors: login, catalog, the
token cache between passes, and the wire format. Imports nothing."""
