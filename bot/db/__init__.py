"""The profile database: models, sessions, migrations and demo seed data."""
