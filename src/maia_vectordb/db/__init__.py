"""Database access: engine, embedded server, ORM models, migrations and queries."""
