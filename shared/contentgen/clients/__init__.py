"""AWS clients, lazily built singletons and secrets, once per container."""
