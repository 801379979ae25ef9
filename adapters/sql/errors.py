"""Driver errors translated, at the adapter edge, into the domain's error tree."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc

from domain.errors import (
    ConstraintViolationError,
    PermanentError,
    SchemaError,
    TargetUnavailableError,
    TransientError,
)

# Deadlocks, lock timeouts, serialization failures: the transaction may succeed if retried.
_RETRYABLE_MYSQL = {1205, 1213, 1614, 3572}
_RETRYABLE_PG = {"40001", "40P01", "55P03", "55006", "57014"}  # 55006: origin in use
# No such column or table: the mapping and the schema disagree (a typo, or a schema change).
# PyMySQL 1.1 reports the SQLSTATE (42S22, 42S02) rather than the error number (1054, 1146).
_SCHEMA_CODES = {1054, 1146, "42S22", "42S02", "42703", "42P01"}


class TransientWriteError(TransientError):
    """The database aborted the transaction for a reason that a retry may not meet again."""


def _code(error: exc.DBAPIError) -> object:
    original = error.orig
    sqlstate = getattr(original, "sqlstate", None)
    if sqlstate:
        return sqlstate
    args = getattr(original, "args", ())
    return args[0] if args else None


@contextmanager
def translated(what: str) -> Iterator[None]:
    """Run a database call; re-raise driver errors as domain errors naming `what`."""
    try:
        yield
    except exc.IntegrityError as error:
        raise ConstraintViolationError(f"{what}: {_first_line(error)}") from error
    except exc.DBAPIError as error:
        code = _code(error)
        if code in _SCHEMA_CODES:
            raise SchemaError(f"{what}: {_first_line(error)}") from error
        if code in _RETRYABLE_MYSQL or code in _RETRYABLE_PG:
            raise TransientWriteError(f"{what}: {_first_line(error)}") from error
        if error.connection_invalidated or isinstance(
            error, exc.OperationalError | exc.InterfaceError
        ):
            raise TargetUnavailableError(
                f"{what}: database unreachable: {_first_line(error)}"
            ) from error
        if isinstance(error, exc.DataError | exc.ProgrammingError):
            raise PermanentError(f"{what}: {_first_line(error)}") from error
        raise TransientWriteError(f"{what}: {_first_line(error)}") from error
    except exc.SQLAlchemyError as error:
        raise TargetUnavailableError(f"{what}: {_first_line(error)}") from error


def _first_line(error: exc.SQLAlchemyError) -> str:
    text = str(getattr(error, "orig", None) or error)
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__
