"""Doors: devices and their keys, where they stand, door codes, 1:N identification and its operating
point, the door gallery shards, and what a door device may do."""
