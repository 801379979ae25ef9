"""Kafka adapters (kafka-python): change source, event publisher, dead-letter queue, admin."""
