"""Sequential monitoring: group-sequential boundaries and always-valid inference."""
