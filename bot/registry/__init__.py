"""The model registry: the trainers' loop from labels to a live model (`python -m bot model`).

- `records`: what is known about each model, promotion and running Rasa instance, kept in
  the conversation log's database (so the console, the commands and every instance share it),
  and where the model files are (MODELS_DIR: careers.tar.gz is the live model, registry/ the
  candidates and the models a promotion replaced).
- `candidate`: train a candidate from data/ plus the console's labels, in a process of its own.
- `compare`: the live model and a candidate side by side, each in a Rasa process of its own.
- `switch`: promote a candidate, or roll back, on every running instance while it answers.
- `instances`: the Rasa plugin with which each instance says where it listens.
- `cli`: the commands.
"""
