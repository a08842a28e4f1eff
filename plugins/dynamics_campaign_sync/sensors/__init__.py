"""Sensors (deferrable) over Dynamics: :mod:`.campaign_active` waits for a campaign that accepts writes,
:mod:`.campaign_membership` for people to be (or no longer be) its members."""
