"""The service's own users: sign-in (OAuth2 password flow), refresh and revocation."""
