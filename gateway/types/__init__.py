"""GraphQL types, one per module, each built from its protobuf message with `from_proto`."""
