"""Root mutation fields: one per command RPC, each returning the changed entity."""
