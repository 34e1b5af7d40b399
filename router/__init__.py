"""Router Playground's domain: catalog, conversations, decisions, strategies, backends."""
