"""Everything persistent: SQLite schema, migrations, indexing and retrieval.

Nothing here imports from ``bot``; the service layer talks to :class:`store.db.AsyncStore`.
"""
