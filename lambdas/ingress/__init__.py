"""Ingress Lambdas."""
