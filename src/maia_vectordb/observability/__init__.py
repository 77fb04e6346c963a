"""Operations: Prometheus metrics held per app, recorded where the work happens."""
