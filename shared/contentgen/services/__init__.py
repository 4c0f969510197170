"""Domain services: plain functions over Pydantic models, knowing nothing of Lambda or HTTP."""
