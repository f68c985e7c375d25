"""Root query fields, one class per service, merged into `Query` by `gateway.schema`."""
