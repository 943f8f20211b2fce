"""The platform's records in DynamoDB: one module per aggregate (investors, wallets, purchases,
instruments, submissions, sequences, payments, webhooks, notifications), the only code that
knows the tables are pynamodb models (tables.py) and binds them, on first use, to the tables
configuration names."""

from pynamodb.exceptions import PynamoDBException

# What a records call raises when DynamoDB itself failed and the records module did not
# translate it (lambdas/aws_clients.py's taxonomy): callers that answer people map it.
RecordsError = PynamoDBException
