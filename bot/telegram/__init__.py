"""The Telegram front-end: python-telegram-bot over the channel-neutral core.

``app`` builds and runs the Application; ``handlers``, ``callbacks``, ``conversation`` and
``errors`` hold the update handlers, each module with one ``register``; ``cards``,
``digests``, ``render``, ``prompts``, ``callback_data`` and ``chunks`` are pure rendering
and parsing; ``notifier`` and ``sender`` send and edit messages for the handlers and the
dispatcher; ``concurrency`` says what runs side by side. Nothing here runs at import time.
"""
