"""The two kinds of failure every workflow tells apart.

The class names are the error names Step Functions matches in Retry and Catch, so they are part
of the state machines' contract: rename one only together with `statemachines/`.
"""


class TransientFault(Exception):
    """Worth retrying unchanged: the ledger or an AWS service did not answer, or throttled."""


class BusinessRuleViolation(Exception):
    """Final for this request: retrying cannot help, the workflow compensates instead."""


class PaymentRejected(BusinessRuleViolation):
    """A payment that cannot become a purchase; it is refunded with this reason."""


class PaymentNotAnnounced(BusinessRuleViolation):
    """No authenticated webhook on record announced this payment as it reads: never minted and
    never refunded (no money came), kept in the failed execution for operators."""


class NeedsOperator(Exception):
    """A compensation could not finish: the purchase is parked until an operator redrives it."""


class MalformedTaskInput(BusinessRuleViolation):
    """A task's input is not what its workflow sends (a field missing or of the wrong kind): a
    bug in a state machine or a hand-started execution, named here rather than deep inside."""
