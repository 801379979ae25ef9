"""One error tree for the whole sync: transient errors are retried, permanent ones dead-lettered."""


class SyncError(Exception):
    """Root of every error the sync raises on purpose."""


class PermanentError(SyncError):
    """Retrying cannot help: the event goes to the dead-letter queue."""


class TransientError(SyncError):
    """The world may fix itself (network, lock, failover): retry with backoff."""


class InvalidEventError(PermanentError):
    """An event is malformed or fails validation; the message names the field."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"invalid event: {field}: {problem}")
        self.field = field
        self.problem = problem


class MissingFieldError(InvalidEventError):
    """A row image lacks a column the mapping names: a bad event, or the source table changed
    (the schema guard tells which)."""


class MappingError(PermanentError):
    """The mapping cannot transform a row; the message names the entity and field."""


class ParentMissingError(PermanentError):
    """A child's parent never arrived before the wait deadline."""


class ConstraintViolationError(PermanentError):
    """The target database refused the row (unique, foreign key, check constraint)."""


class ValueRejectedError(PermanentError):
    """The target database refused a value (out of range, wrong type, too long)."""


class SchemaError(PermanentError):
    """The target database lacks a table or column the mapping names (MySQL 1054, 1146;
    PostgreSQL 42703, 42P01)."""


class UnexpectedEventError(PermanentError):
    """Handling one event raised an error nobody anticipated; the message names it."""


class TargetUnavailableError(TransientError):
    """The target database could not be reached or the transaction was aborted by it."""


class BrokerUnavailableError(TransientError):
    """The message broker could not be reached."""


class PositionsLostError(TransientError):
    """The broker moved this consumer's partitions (rebalance, fenced member, recreated topic):
    the uncommitted batch is dropped, redelivered, and skipped as duplicates where applied."""


class ConfigurationError(SyncError):
    """A setting is missing or invalid; the message names the setting."""


class SchemaDriftError(TransientError):
    """A mapped column was dropped or retyped while running: the direction pauses, nothing is
    dead-lettered or committed past it, until the mapping is fixed and the service restarted."""
