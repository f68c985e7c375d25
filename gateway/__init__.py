"""The GraphQL gateway: one federated graph over the services' gRPC APIs.

It owns no data. Every field resolves through gRPC, batched per request by DataLoaders so that
a query costs a constant number of RPCs per level of nesting, whatever the list sizes.
"""
