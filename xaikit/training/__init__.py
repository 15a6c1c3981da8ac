"""Seeded training scripts and the quality measurement for the shipped models."""
