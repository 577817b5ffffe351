"""Signed exports: the court evidence bundle and a person's export share how a signed ZIP is written."""
