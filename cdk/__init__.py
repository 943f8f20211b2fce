"""The Drexfy CDK app: one stack per deployment environment, one construct per concern."""
