"""``svcforge check``: judge any repository against the standards catalogue."""
