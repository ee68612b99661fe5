"""The audit log on the database: `LogService` (the only writer) and its SQL storage."""
