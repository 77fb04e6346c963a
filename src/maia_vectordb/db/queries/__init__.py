"""Every SQL statement the services run, one module per resource.

A statement over a tenant's rows takes `project_id` (keyword-only, no default) and is
narrowed by `scope.of_project`, the one place tenancy is enforced. The few that are
not (the worker's queue, chunk COPY, file bytes, key administration) serve every
project by design; `tests/db/test_queries.py` lists them and says why.
"""
