"""Engagement: goals, XP and levels, weekly streaks, the badge catalogue, partner of the
month and bonus pools (rules: "Engagement"). Nothing here changes money except bonus pools,
which pay through the normal ``bonus`` commissions."""
