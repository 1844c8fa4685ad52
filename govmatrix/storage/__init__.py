"""The store: SQLAlchemy tables, Alembic migrations, and all the SQL, behind ``repo.Repo``."""
