"""Turning uploaded files into searchable chunks: parse, chunk, embed, store."""
