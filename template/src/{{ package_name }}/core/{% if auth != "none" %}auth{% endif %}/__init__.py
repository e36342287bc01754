"""Who is calling (authentication) and what they may do (authorization, SEC-1, SEC-2)."""
