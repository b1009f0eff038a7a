"""The catalogue, lifecycle, plans, subscriptions and gateway connections."""
