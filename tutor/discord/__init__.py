"""The Discord bridge: `tutor discord`, a bot process that reaches the tutor only over its
HTTP API (bot.py wiring, handlers.py behaviour, client.py the service, split.py and
render.py the messages). Nothing here imports a model, an index or torch."""
