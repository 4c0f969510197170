"""Lazy, thread-safe, per-container provider clients (one module per SDK)."""
