"""Backups to a second place, their verification, restore into an empty deployment, and the keys kept apart."""
