"""The SQL side: registry tables (owned by the API) and the ticket read model (projection)."""
