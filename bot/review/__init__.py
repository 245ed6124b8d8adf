"""The trainers' review console: read real conversations, label messages, export NLU data."""
