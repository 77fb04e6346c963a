"""Local stand-ins for external services, served over real HTTP for tests."""
