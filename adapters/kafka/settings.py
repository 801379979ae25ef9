"""Connection settings shared by every Kafka client, with secrets kept out of reprs and errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from adapters.redaction import redact
from domain.errors import ConfigurationError

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER", "GSSAPI")
# SYNC_* option -> KafkaSettings field; the options the container passes through (CONTRACT §2).
OPTION_FIELDS = {
    "SYNC_KAFKA_SECURITY_PROTOCOL": "security_protocol",
    "SYNC_KAFKA_SASL_MECHANISM": "sasl_mechanism",
    "SYNC_KAFKA_SASL_USERNAME": "sasl_username",
    "SYNC_KAFKA_SASL_PASSWORD": "sasl_password",
    "SYNC_KAFKA_SSL_CAFILE": "ssl_cafile",
    "SYNC_KAFKA_SSL_CERTFILE": "ssl_certfile",
    "SYNC_KAFKA_SSL_KEYFILE": "ssl_keyfile",
}


# KafkaSettings field -> its name for kafka-python, for librdkafka
_KAFKA_PYTHON, _LIBRDKAFKA = 0, 1
_OPTIONAL_NAMES = {
    "sasl_mechanism": ("sasl_mechanism", "sasl.mechanism"),
    "sasl_username": ("sasl_plain_username", "sasl.username"),
    "sasl_password": ("sasl_plain_password", "sasl.password"),
    "ssl_cafile": ("ssl_cafile", "ssl.ca.location"),
    "ssl_certfile": ("ssl_certfile", "ssl.certificate.location"),
    "ssl_keyfile": ("ssl_keyfile", "ssl.key.location"),
}


@attrs.frozen
class KafkaSettings:
    """Where the brokers are and how to authenticate; `client_kwargs` feeds kafka-python."""

    bootstrap: tuple[str, ...]
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = attrs.field(default=None, repr=False)
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    client_id: str = "tandem"
    bootstrap_timeout_ms: int = 10_000
    """How long a client may try to reach any broker before BrokerUnavailableError."""
    request_timeout_ms: int = 30_000

    @classmethod
    def from_options(
        cls, bootstrap: tuple[str, ...], options: Mapping[str, str], **overrides: Any
    ) -> KafkaSettings:
        """From SYNC_KAFKA_* settings; a ConfigurationError names the bad one."""
        fields: dict[str, Any] = {}
        for name, value in options.items():
            if name in OPTION_FIELDS:
                fields[OPTION_FIELDS[name]] = value or None
            elif name.startswith("SYNC_KAFKA_"):
                raise ConfigurationError(f"{name} is not a known Kafka setting")
        settings = cls(bootstrap, **{**fields, **overrides})
        settings.validate()
        return settings

    def validate(self) -> None:
        """ConfigurationError naming the first inconsistent setting."""
        if not self.bootstrap:
            raise ConfigurationError("SYNC_KAFKA_BOOTSTRAP is empty")
        if self.security_protocol not in SECURITY_PROTOCOLS:
            raise ConfigurationError(
                f"SYNC_KAFKA_SECURITY_PROTOCOL must be one of {', '.join(SECURITY_PROTOCOLS)}"
            )
        if self.security_protocol.startswith("SASL"):
            if self.sasl_mechanism not in SASL_MECHANISMS:
                raise ConfigurationError(
                    f"SYNC_KAFKA_SASL_MECHANISM must be one of {', '.join(SASL_MECHANISMS)}"
                )
            if self.sasl_mechanism in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512") and not (
                self.sasl_username and self.sasl_password
            ):
                raise ConfigurationError(
                    "SYNC_KAFKA_SASL_USERNAME and SYNC_KAFKA_SASL_PASSWORD are required for "
                    f"SASL {self.sasl_mechanism}"
                )

    def client_kwargs(self, client: type | None = None) -> dict[str, Any]:
        """Keyword arguments common to KafkaConsumer, KafkaProducer and KafkaAdminClient."""
        kwargs: dict[str, Any] = {
            "bootstrap_servers": list(self.bootstrap),
            "client_id": self.client_id,
            "security_protocol": self.security_protocol,
            "request_timeout_ms": self.request_timeout_ms,
            "bootstrap_timeout_ms": self.bootstrap_timeout_ms,
        }
        kwargs.update(self._optional(_KAFKA_PYTHON))
        known = getattr(client, "DEFAULT_CONFIG", None)
        if known is not None and "bootstrap_timeout_ms" not in known:  # kafka-python 2.x
            kwargs["api_version_auto_timeout_ms"] = kwargs.pop("bootstrap_timeout_ms")
        return kwargs

    def librdkafka_config(self) -> dict[str, Any]:
        """The same settings for librdkafka (confluent-kafka), which the publisher uses."""
        config: dict[str, Any] = {
            "bootstrap.servers": ",".join(self.bootstrap),
            "client.id": self.client_id,
            "security.protocol": self.security_protocol,
            "socket.timeout.ms": self.request_timeout_ms,
            "request.timeout.ms": self.request_timeout_ms,
        }
        return config | self._optional(_LIBRDKAFKA)

    def _optional(self, client: int) -> dict[str, Any]:
        """The authentication settings that are set, named for `client` (an index of
        _OPTIONAL_NAMES: _KAFKA_PYTHON or _LIBRDKAFKA)."""
        return {
            names[client]: value
            for field, names in _OPTIONAL_NAMES.items()
            if (value := getattr(self, field)) is not None
        }

    def redact(self, text: str) -> str:
        """`text` with every secret replaced by ***, for log lines and error messages."""
        return redact(text, [self.sasl_password])

    @property
    def where(self) -> str:
        return ",".join(self.bootstrap)
