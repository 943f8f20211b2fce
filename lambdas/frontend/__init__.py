"""Frontend Lambdas."""
