"""What the API (and later email and phone intake) does, free of HTTP."""
