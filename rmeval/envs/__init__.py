"""Environments rmeval renders and trains on.

Importing this package imports nothing heavy; each environment module loads gymnasium
(and MuJoCo, for the Humanoid) only when used.
"""
