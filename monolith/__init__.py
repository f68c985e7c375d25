"""The monolith baseline: the spec's "Current Monolithic Database" (one database, one schema,
the foreign keys the services drop) and a deterministic data generator that fills it and the
service databases with the same logical data (see `generate`, `load`, `service_load`)."""
