"""GraphQL subscriptions fed by the services' JetStream events (see hub.py)."""
