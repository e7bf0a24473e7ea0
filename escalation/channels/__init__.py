"""Delivery channels: one small class per kind, behind ``base.Channel``."""
