"""factory_boy factories, one module per app: one `<Model>Factory` for every model."""
