"""Onboarding Lambdas."""
