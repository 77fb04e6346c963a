"""Wire objects: byte-for-byte the OpenAI shapes the SDK parses."""
