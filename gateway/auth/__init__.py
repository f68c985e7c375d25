"""Who is calling the gateway: JWT bearer tokens (`tokens`), roles and their scopes (`roles`),
the scope each field needs (`policy`), checked while an operation is validated (`rule`)."""
