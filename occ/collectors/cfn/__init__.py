"""The cfn collector (Heat's CloudFormation-compatible API) and its SigV2 request signing.
Imports nothing."""
