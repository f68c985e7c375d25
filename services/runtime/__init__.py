"""The shared runtime: everything that is the same in every service.

Settings, the database and unit of work, the transactional outbox and its relay, the
JetStream consumer loop, the gRPC bootstrap and the mapping of domain errors to status codes.
A service folder holds only its own tables, rules, API and handlers.
"""
