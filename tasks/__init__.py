"""Dramatiq broker setup, actors, the scheduler loop and the outbox relay (the messaging issue)."""
