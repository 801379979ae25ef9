"""PostgreSQL and MySQL adapters on SQLAlchemy Core."""
