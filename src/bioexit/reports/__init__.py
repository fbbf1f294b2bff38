"""Reports over departure and entry records; ``stays`` holds the pure stay rules."""
