"""Tools for operators: reading executions and purchases in plain words, locally and in AWS."""
