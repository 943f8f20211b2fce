"""Compliance Lambdas."""
