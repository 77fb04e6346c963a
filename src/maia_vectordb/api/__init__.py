"""HTTP layer: one thin router per resource."""
