"""Where models come from: the registry of known models and the hub/local-directory loader."""
