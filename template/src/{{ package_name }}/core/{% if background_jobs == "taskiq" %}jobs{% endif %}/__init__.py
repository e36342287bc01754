"""Background jobs: taskiq on RabbitMQ, sent once the unit of work commits (ADR 0017)."""
