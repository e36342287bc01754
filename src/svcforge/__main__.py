"""Allow ``python -m svcforge``."""

from svcforge.cli import main

if __name__ == "__main__":
    main()
