"""The Slack front-end: slash command, DMs and mentions, approval cards, modals, App Home.

``app.py`` builds the Bolt app and runs it (Socket Mode or HTTP); ``commands``,
``actions``, ``views`` and ``home`` hold the handlers, each with one ``register``;
``blocks``, ``replies`` and ``surfaces`` render Block Kit as pure functions;
``payloads`` parses what Slack sends, strictly; ``cards`` posts and updates approval
cards; ``notifier`` is the dispatcher's way into Slack.
"""
