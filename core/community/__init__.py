"""Community: chat, presence, moderation, playbooks, achievements, leaderboard,
challenges and notifications."""
