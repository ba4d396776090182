"""The partner program: partners, leads, referrals, teams, tiers, the dashboards."""
