"""Built-in feature plugins: one package per module of SPEC.md, enabled in chorus.config.Defaults.PLUGINS."""
