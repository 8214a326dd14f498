"""The ec2 collector: a config drive first, else the EC2 metadata service (IMDSv1/v2).
Imports nothing."""
