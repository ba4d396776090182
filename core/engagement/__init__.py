"""Engagement: goals, XP and levels, weekly streaks, the badge catalogue, partner of the
month and bonus pools (rules: "Goals", "XP, levels and streaks", "Badges"). Nothing here changes money except bonus pools,
which pay through the normal ``bonus`` commissions."""
