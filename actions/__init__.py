"""The Rasa action server package: thin actions that ask bot.store and format replies."""
