"""The conversation log: Rasa's SQL tracker store with personal data masked, and its index."""
