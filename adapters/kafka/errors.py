"""Kafka client errors (kafka-python, librdkafka) translated at the adapter edge into the
domain's error tree."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from confluent_kafka import KafkaError, KafkaException
from kafka import errors as kafka_errors

from adapters.kafka.settings import KafkaSettings
from domain.errors import BrokerUnavailableError, ConfigurationError

_REFUSED = (kafka_errors.SaslAuthenticationFailedError, kafka_errors.AuthorizationError)
_LIBRDKAFKA_REFUSED = {
    KafkaError.SASL_AUTHENTICATION_FAILED,
    KafkaError.TOPIC_AUTHORIZATION_FAILED,
    KafkaError.CLUSTER_AUTHORIZATION_FAILED,
    KafkaError._AUTHENTICATION,
    KafkaError._SSL,
}


def translate(settings: KafkaSettings, action: str, error: BaseException) -> Exception:
    """The domain error for a driver error; its message holds no secret."""
    detail = settings.redact(described(error))
    if isinstance(error, _REFUSED) or reason_code(error) in _LIBRDKAFKA_REFUSED:
        return ConfigurationError(
            f"Kafka at {settings.where} refused {action} (check SYNC_KAFKA_SECURITY_PROTOCOL, "
            f"SYNC_KAFKA_SASL_*, SSL settings): {detail}"
        )
    return BrokerUnavailableError(f"Kafka at {settings.where}: {action} failed: {detail}")


def reason_code(error: BaseException) -> int | None:
    """The librdkafka error code a KafkaException carries; None for any other error."""
    reason = error.args[0] if isinstance(error, KafkaException) and error.args else None
    return reason.code() if isinstance(reason, KafkaError) else None


def described(error: BaseException | KafkaError) -> str:
    """The error's own words: librdkafka's text rather than its KafkaError{...} repr."""
    if isinstance(error, KafkaException) and error.args:
        error = error.args[0]
    text = error.str() if isinstance(error, KafkaError) else str(error)
    return text or type(error).__name__


@contextmanager
def broker_errors(settings: KafkaSettings, action: str) -> Iterator[None]:
    """Raise driver and socket errors as BrokerUnavailableError (ConfigurationError if refused)."""
    try:
        yield
    except (kafka_errors.KafkaError, OSError) as error:
        raise translate(settings, action, error) from None
