"""Possible same person: candidates across scripts and spellings, the clerks' review, merges and their undoing."""
