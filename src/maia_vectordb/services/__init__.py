"""Use cases: the rules of each resource, independent of HTTP."""
