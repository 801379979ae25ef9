"""Driver errors translated, at the adapter edge, into the domain's error tree.

Classified by the server's own code (SQLSTATE on PostgreSQL, the error number on MySQL and
MariaDB), not by the driver's exception class: PyMySQL raises OperationalError for any server
error it has no table entry for (a MariaDB CHECK failure, 4025, among them), which would
make one bad row look like an outage.
"""

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
    ValueRejectedError,
)

# Retried until they stop: the transaction may succeed once the server or the lock frees up.
_LOCK_MYSQL = {1205, 1213, 1614, 3572}  # lock wait timeout, deadlock, XA deadlock, NOWAIT
_OUTAGE_MYSQL = {
    1040,  # too many connections
    1044,  # access denied: the operator's to fix; no event is at fault
    1045,
    1049,  # unknown database
    1130,  # host not allowed
    1203,  # user over max connections
    1226,  # resource limit
    1053,  # server shutdown in progress
    1152,  # aborted connection
    1158,  # network errors reading or writing
    1159,
    1160,
    1161,
    1290,  # --read-only (failover, replica promoted late)
    1317,  # query interrupted
    1792,  # read-only transaction
    1836,  # running in read-only mode
    1927,  # connection killed (MariaDB)
    4031,  # disconnected by the server for inactivity (MariaDB)
}
_CONSTRAINT_MYSQL = {1048, 1062, 1216, 1217, 1451, 1452, 1557, 1586, 3819, 4025}
_VALUE_MYSQL = {1264, 1265, 1292, 1366, 1367, 1406, 1411, 1690, 3140}
_SCHEMA_MYSQL = {1054, 1146}

_LOCK_PG = {"40001", "40P01", "55P03", "55006"}  # serialization, deadlock, lock, in use
# connection, authorization, resources, shutdown, system: nothing an event can be blamed for
_OUTAGE_PG_CLASSES = {"08", "28", "53", "57", "58"}
_OUTAGE_PG = {"25006", "3D000"}  # read-only transaction (failover), database missing
_SCHEMA_PG = {"42703", "42P01", "3F000"}  # undefined column, table, schema


class TransientWriteError(TransientError):
    """The database aborted the transaction for a reason that a retry may not meet again."""


def _code(error: exc.DBAPIError) -> object:
    """MySQL's error number (its SQLSTATE is too coarse: HY000 for most), else the SQLSTATE."""
    original = error.orig
    args = getattr(original, "args", ())
    if args and isinstance(args[0], int):
        return args[0]
    sqlstate = getattr(original, "sqlstate", None)
    return str(sqlstate) if sqlstate else None


def classify(error: exc.DBAPIError, what: str) -> Exception:
    """The domain error for a driver error raised while doing `what`."""
    code = _code(error)
    text = f"{what}: {_first_line(error)}"
    if isinstance(code, str):
        found = _classify_sqlstate(code, text)
    elif isinstance(code, int):
        found = _classify_mysql(code, text)
    else:
        found = None
    if found is not None:
        return found
    if error.connection_invalidated or isinstance(error, exc.OperationalError | exc.InterfaceError):
        return TargetUnavailableError(f"{what}: database unreachable: {_first_line(error)}")
    if isinstance(error, exc.IntegrityError):
        return ConstraintViolationError(text)
    return PermanentError(text)


def _classify_sqlstate(code: str, text: str) -> Exception | None:
    if code in _LOCK_PG:
        return TransientWriteError(text)
    if code in _OUTAGE_PG or code[:2] in _OUTAGE_PG_CLASSES:
        return TargetUnavailableError(f"database unavailable: {text}")
    if code in _SCHEMA_PG:
        return SchemaError(text)
    if code.startswith("23"):
        return ConstraintViolationError(text)
    if code.startswith("22"):
        return ValueRejectedError(text)
    if code.startswith("42"):
        return SchemaError(text)
    return None


def _classify_mysql(code: int, text: str) -> Exception | None:
    if code in _LOCK_MYSQL:
        return TransientWriteError(text)
    if code in _OUTAGE_MYSQL or 2000 <= code < 3000:  # 2xxx: the client lost the server
        return TargetUnavailableError(f"database unavailable: {text}")
    if code in _CONSTRAINT_MYSQL:
        return ConstraintViolationError(text)
    if code in _VALUE_MYSQL:
        return ValueRejectedError(text)
    if code in _SCHEMA_MYSQL:
        return SchemaError(text)
    if code >= 1000:  # any other server error: about this statement, not the connection
        return PermanentError(text)
    return None


@contextmanager
def translated(what: str) -> Iterator[None]:
    """Run a database call; re-raise driver errors as domain errors naming `what`."""
    try:
        yield
    except exc.DBAPIError as error:
        raise classify(error, what) from error
    except exc.SQLAlchemyError as error:
        raise TargetUnavailableError(f"{what}: {_first_line(error)}") from error


def _first_line(error: exc.SQLAlchemyError) -> str:
    text = str(getattr(error, "orig", None) or error)
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__
