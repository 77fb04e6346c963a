"""Allow ``python -m maia_vectordb``."""

from maia_vectordb.cli import main

main()
