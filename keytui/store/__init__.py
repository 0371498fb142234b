"""Persistence: Peewee models and the database binding. Only the service layer imports this."""
