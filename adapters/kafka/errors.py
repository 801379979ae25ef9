"""kafka-python errors translated at the adapter edge into the domain's error tree."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from kafka import errors as kafka_errors

from adapters.kafka.settings import KafkaSettings
from domain.errors import BrokerUnavailableError, ConfigurationError

_REFUSED = (kafka_errors.SaslAuthenticationFailedError, kafka_errors.AuthorizationError)


def translate(settings: KafkaSettings, action: str, error: BaseException) -> Exception:
    """The domain error for a driver error; its message holds no secret."""
    detail = settings.redact(str(error) or type(error).__name__)
    if isinstance(error, _REFUSED):
        return ConfigurationError(
            f"Kafka at {settings.where} refused {action} (check SYNC_KAFKA_SECURITY_PROTOCOL, "
            f"SYNC_KAFKA_SASL_*, SSL settings): {detail}"
        )
    return BrokerUnavailableError(f"Kafka at {settings.where}: {action} failed: {detail}")


@contextmanager
def broker_errors(settings: KafkaSettings, action: str) -> Iterator[None]:
    """Raise driver and socket errors as BrokerUnavailableError (ConfigurationError if refused)."""
    try:
        yield
    except (kafka_errors.KafkaError, OSError) as error:
        raise translate(settings, action, error) from None
