"""The NHS radiography careers assistant: role store, NLP pipeline builder and tools."""
